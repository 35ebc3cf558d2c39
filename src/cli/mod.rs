//! The command line: `run`, `report`, `data synth`, `probe`, `instances`, `price`.

mod data;
mod data_args;
mod list;
mod probe;
mod rows;
mod run;

use std::path::PathBuf;

use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};

use crate::workload::{Missing, ModelKind};
use data_args::DataArgs;

const EXAMPLES: &str = "\
Examples:
  gpubench run --instance local                       both workloads, every backend, synthetic data
  gpubench run --instance g5.xlarge --backend cuda --batch-size 32,64 --repeats 3
  gpubench run --instance local --price 0.35 --workload keypoints --epochs 5
  gpubench run --instance local --data-keypoints training.csv --flip --backend cpu
  gpubench run --instance local --data-turtle turtles/ --model mlp-hog
  gpubench report --in reports/ --in fleet/ --out reports/   report.md + report.html
  gpubench data synth --out demo/ --rows 512            stand-in files in the real formats
  gpubench probe --out reports/                        devices here, measured GEMM and copy speed
  gpubench instances --provider aws --format csv        the catalog with dated prices
  gpubench price --instance g5.xlarge --seconds 3600 --spot";

#[derive(Debug, Parser)]
#[command(name = "gpubench", version, about = "Which cloud instance and GPU backend trains this CNN fastest and cheapest?", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the workloads on each backend, time every phase, append rows to runs.csv.
    #[command(after_help = EXAMPLES)]
    Run(RunArgs),
    /// Merge runs.csv / epochs.csv files into report.md and a self-contained report.html.
    #[command(after_help = EXAMPLES)]
    Report {
        /// A runs.csv / epochs.csv file, or a directory searched recursively; repeatable.
        #[arg(long = "in", value_name = "DIR_OR_CSV", default_value = "reports")]
        inputs: Vec<PathBuf>,
        /// Directory that receives report.md and report.html.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Work with datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Show the backends and devices this machine has, or why a backend cannot run, with the
    /// GEMM GFLOP/s and copy GB/s each device measures.
    Probe {
        /// Directory that receives probe.csv.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the instance catalog: hardware, GPU peak, $/h and the date of each price.
    Instances {
        /// Only this provider's instances (aws, gcp, azure, local).
        #[arg(long)]
        provider: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: list::Format,
    },
    /// What a number of seconds costs on an instance.
    Price {
        #[arg(long)]
        instance: String,
        #[arg(long, allow_negative_numbers = true)]
        seconds: f64,
        /// Price in USD per hour, overriding the catalog's.
        #[arg(long, conflicts_with = "spot", allow_negative_numbers = true)]
        price: Option<f64>,
        /// Use the catalog's spot price.
        #[arg(long)]
        spot: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Write stand-in files in the real formats: a Kaggle training.csv, turtle crops, and raw
    /// turtle images with YOLO labels and labels.csv.
    Synth {
        #[arg(long)]
        out: PathBuf,
        /// Rows of training.csv; the turtle sets get a similar number of images.
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
        rows: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Instance type from the catalog (e.g. g4dn.xlarge), or `local`.
    #[arg(long)]
    pub instance: String,
    /// Workloads to train, comma-separated [default: all that have --model, or those given
    /// --data-*]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(crate::workload::names()))]
    pub workload: Vec<String>,
    /// The model to train: each workload's CNN, or the seed's HOG-feature MLP (turtle only).
    #[arg(long, value_enum, default_value = "cnn")]
    pub model: ModelKind,
    /// Backends to train on, comma-separated; one that cannot run here is recorded with the
    /// reason [default: all]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(crate::backend::names()))]
    pub backend: Vec<String>,
    /// Training epochs per run (epoch time is the median of epochs 2..N).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Batch sizes, comma-separated; each is its own run. 16 fits every device, including
    /// software Vulkan's 128 MiB buffer limit (turtle at 32 needs 141 MiB).
    #[arg(long, value_delimiter = ',', default_value = "16", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Vec<u32>,
    /// Repeats of each (workload, backend, batch size).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: u32,
    /// Number of synthetic images of the real shapes (20 % are held out for validation), for
    /// workloads not given real data.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(2..))]
    pub synthetic: u32,
    #[command(flatten)]
    pub data: DataArgs,
    /// Rows with missing keypoints: masked out of the loss, dropped, or forward-filled.
    #[arg(long, value_enum, default_value = "mask")]
    pub missing: Missing,
    /// Mirror a random half of each keypoints training batch (Nouri's net3).
    #[arg(long)]
    pub flip: bool,
    /// Skip images that cannot be decoded (counted in n_skipped) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
    /// Directory that receives runs.csv and epochs.csv (appended to).
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Seed for data, split, shuffling and weights.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Price in USD per hour, overriding the catalog's.
    #[arg(long, conflicts_with = "spot", allow_negative_numbers = true)]
    pub price: Option<f64>,
    /// Charge the catalog's spot price instead of on-demand.
    #[arg(long)]
    pub spot: bool,
}

/// Parses the command line and runs the command.
pub fn main() -> Result<()> {
    let cli = Cli::parse();
    crate::error::report_panics_once();
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Run(args) => run::run(&args, out),
        Command::Report { inputs, out: dir } => {
            crate::report::run(&crate::report::Options { inputs, out: dir }, out)
        }
        Command::Data(DataCommand::Synth {
            out: dir,
            rows,
            seed,
        }) => data::synth(out, &dir, rows as usize, seed),
        Command::Probe { out: dir } => probe::probe(out, dir.as_deref()),
        Command::Instances { provider, format } => {
            list::instances(out, provider.as_deref(), format)
        }
        Command::Price {
            instance,
            seconds,
            price,
            spot,
        } => list::price(out, &instance, seconds, price, spot),
    }
}
