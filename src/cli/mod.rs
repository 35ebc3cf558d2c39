//! The command line: `run`, `report`, `compare`, `export mlflow`, `data synth`, `probe`,
//! `instances`, `price`.

mod data;
mod data_args;
mod list;
mod plan;
mod probe;
mod rows;
mod run;
mod spread;

use std::path::PathBuf;

use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};

use crate::backend::CpuOps;
use crate::workload::{Missing, ModelKind};
use data_args::DataArgs;

/// The examples every command's help ends with.
macro_rules! examples {
    () => {
        "\
Examples:
  gpubench run --instance local                       both workloads, every backend, synthetic data
  gpubench run --instance g5.xlarge --backend cuda --batch-size 32,64 --repeats 3
  gpubench run --instance local --price 0.35 --workload keypoints --epochs 5
  gpubench run --instance local --workload turtle --epochs 10 --target-accuracy 0.9 --stop-at-target
  gpubench run --instance local --data-keypoints training.csv --flip --backend cpu
  gpubench run --instance local --data-turtle turtles/ --model mlp-hog
  gpubench run --instance my-laptop --price 0.20 --backend cpu   a machine outside the catalog
  gpubench report                                      the runs in reports/: report.md + .html
  gpubench report --in fleet/ --in reports/ --out merged/   every runs.csv under fleet/ too
  gpubench report --format md,html,json                report.json too, for scripts
  gpubench compare --baseline before/ --candidate reports/ --threshold 5% --fail-on-regression
  gpubench export mlflow --tracking-uri http://127.0.0.1:5000 --in reports/   one MLflow run a row
  gpubench data synth --out demo/ --rows 512            stand-in files in the real formats
  gpubench probe --out reports/                        devices here, measured GEMM and copy speed
  gpubench instances --provider aws --format csv        the catalog with dated prices
  gpubench price --instance g5.xlarge --seconds 3600 --spot"
    };
}

const EXAMPLES: &str = examples!();

/// `compare`'s help ends with its exit codes too.
const COMPARE_HELP: &str = concat!(
    examples!(),
    "

Exit codes: 0 when compared (regressions included, unless --fail-on-regression), 1 on a
regression with --fail-on-regression or on an error, 2 on bad input."
);

/// `run`'s help ends with its exit codes too.
const RUN_HELP: &str = concat!(
    examples!(),
    "

Exit codes: 0 when the runs were made (rows with status failed or diverged included), 1 on an
error, 2 on bad input (nothing written), 3 when nothing could run (every backend unavailable:
the rows say why), 130 after Ctrl-C and 143 after SIGTERM (the run in progress is recorded)."
);

#[derive(Debug, Parser)]
#[command(name = "gpubench", version, about = "Which cloud instance and GPU backend trains this CNN fastest and cheapest?", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the workloads on each backend, time every phase, append rows to runs.csv.
    #[command(after_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Merge runs.csv / epochs.csv files into report.md and a self-contained report.html.
    #[command(after_help = EXAMPLES)]
    Report {
        /// A runs.csv / epochs.csv file, or a directory searched recursively; repeatable
        /// [default: reports/runs.csv and reports/epochs.csv, what `run` writes by default;
        /// folders below reports/, such as the committed reports/example, only when named]
        #[arg(long = "in", value_name = "DIR_OR_CSV")]
        inputs: Vec<PathBuf>,
        /// Directory that receives report.md and report.html.
        #[arg(long, default_value = crate::record::DEFAULT_DIR)]
        out: PathBuf,
        /// Flag a run whose per-epoch training loss leaves the cpu run's by more than this
        /// relative difference (loss_rel_dev); the default is set from what wgpu on lavapipe
        /// measured against cpu (see the README)
        #[arg(long, default_value_t = 0.01, value_parser = positive)]
        parity_tol: f64,
        /// Price energy at this many USD per kWh (e.g. 0.15), beside what the instance costs;
        /// stated on the page
        #[arg(long, value_parser = positive, value_name = "USD")]
        kwh_price: Option<f64>,
        /// Turn energy into emissions at this many kg CO₂e per kWh (your grid's, e.g. 0.4);
        /// stated on the page
        #[arg(long, value_parser = positive, value_name = "KG")]
        kg_co2_per_kwh: Option<f64>,
        /// The formats to write, comma-separated: report.md, report.html, report.json (the
        /// aggregated tables with provenance; its shape is in the README)
        #[arg(long, value_delimiter = ',', default_value = "md,html", value_parser = PossibleValuesParser::new(crate::report::FORMATS))]
        format: Vec<String>,
    },
    /// Compare a candidate's runs with a baseline's, configuration by configuration: did it get
    /// slower? A Markdown table on stdout.
    #[command(after_help = COMPARE_HELP)]
    Compare(crate::report::CompareOptions),
    /// Send results on to other tools (MLflow).
    #[command(subcommand)]
    Export(ExportCommand),
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
        /// Only this provider's instances.
        #[arg(long, value_parser = PossibleValuesParser::new(["aws", "gcp", "azure", "local"]))]
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
enum ExportCommand {
    /// One MLflow run per runs.csv row, over MLflow's REST API; a second export of the same
    /// rows adds nothing. Credentials: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and
    /// MLFLOW_TRACKING_PASSWORD.
    #[command(after_help = EXAMPLES)]
    Mlflow(crate::export::mlflow::Options),
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
        /// Write into a folder that is not empty, first removing the files an earlier
        /// `data synth` wrote there (nothing else).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Instance type from the catalog (any case, e.g. g4dn.xlarge), `auto` (read from the
    /// cloud's metadata service), `local`, or a name of your own for this machine (unpriced
    /// unless --price).
    #[arg(long)]
    pub instance: String,
    /// Workloads to train, comma-separated, or `all` [default: all that have --model, or those
    /// given --data-*]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(with_all(crate::workload::names())))]
    pub workload: Vec<String>,
    /// The model to train: each workload's CNN, or the seed's HOG-feature MLP (turtle only).
    #[arg(long, value_enum, default_value = "cnn")]
    pub model: ModelKind,
    /// Backends to train on, comma-separated, or `all`; one that cannot run here is recorded
    /// with the reason [default: all]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(with_all(crate::backend::names())))]
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
    #[command(flatten)]
    pub spread: spread::SpreadArgs,
    /// Rows of real keypoints data (--data-keypoints) with missing keypoints: masked out of the
    /// loss, dropped, or forward-filled [default: mask]
    #[arg(long, value_enum)]
    pub missing: Option<Missing>,
    /// Mirror a random half of each keypoints training batch (Nouri's net3).
    #[arg(long)]
    pub flip: bool,
    /// Skip images of real turtle data (--data-turtle) that cannot be decoded (counted in
    /// n_skipped) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
    /// Validation RMSE in pixels a keypoints run trains to: the epochs, seconds and dollars it
    /// took are recorded [default: 5.5 on synthetic data, 3.0 on Kaggle's]
    #[arg(long, value_name = "PX", value_parser = positive)]
    pub target_rmse: Option<f64>,
    /// Validation accuracy (0 to 1) a turtle run trains to, recorded likewise [default: 0.9]
    #[arg(long, value_name = "A", value_parser = fraction)]
    pub target_accuracy: Option<f64>,
    /// End each run at the epoch that reaches its target instead of going on to --epochs.
    #[arg(long)]
    pub stop_at_target: bool,
    /// The cpu backend's kernels: gpubench's own, or burn's plain Flex ops (what the own
    /// kernels are measured and checked against).
    #[arg(long, value_enum, default_value = "gpubench", env = "GPUBENCH_CPU_OPS")]
    pub cpu_ops: CpuOps,
    /// Directory that receives runs.csv and epochs.csv (appended to), and pictures/.
    #[arg(long, default_value = crate::record::DEFAULT_DIR)]
    pub out: PathBuf,
    /// Also write every telemetry reading (about ten a second: power, energy, clock,
    /// temperature, memory) to samples.csv, for the report's power-over-time chart.
    #[arg(long)]
    pub keep_samples: bool,
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

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a fraction above 0 and at most 1 (0.9 is 90 %)"
        )),
    }
}

/// `names` and `all`, the values of a list option that takes every name.
fn with_all(mut names: Vec<&'static str>) -> Vec<&'static str> {
    names.push("all");
    names
}

/// Parses the command line and runs the command.
pub fn main() -> Result<()> {
    let cli = Cli::parse();
    crate::error::report_panics_once();
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
    // Not locked for the whole command: burn-collective's threads log to stdout, and would wait.
    let out = &mut std::io::stdout();
    match cli.command {
        Command::Run(args) => run::run(&args, out),
        Command::Report {
            inputs,
            out: dir,
            parity_tol,
            kwh_price,
            kg_co2_per_kwh,
            format,
        } => {
            let opts = crate::report::Options {
                inputs,
                out: dir,
                formats: format,
                parity_tol,
                energy: crate::report::EnergyRates {
                    usd_per_kwh: kwh_price,
                    kg_co2_per_kwh,
                },
            };
            crate::report::run(&opts, out)
        }
        Command::Compare(opts) => crate::report::compare(&opts, out),
        Command::Export(ExportCommand::Mlflow(opts)) => crate::export::mlflow::run(&opts, out),
        Command::Data(DataCommand::Synth {
            out: dir,
            rows,
            seed,
            force,
        }) => data::synth(out, &dir, rows as usize, seed, force),
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
