//! The command line: `run`, `probe`, `instances`.

mod list;
mod run;

use std::path::PathBuf;

use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  gpubench run --instance local                       both workloads, every backend, synthetic data
  gpubench run --instance g5.xlarge --backend cuda --batch-size 32,64 --repeats 3
  gpubench run --instance local --price 0.35 --workload keypoints --epochs 5
  gpubench probe                                       what this machine can run
  gpubench instances                                   the catalog with dated prices";

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
    /// Show the backends and devices this machine has, or why a backend cannot run.
    Probe,
    /// List the instance catalog: hardware, $/h and the date of each price.
    Instances,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Instance type from the catalog (e.g. g4dn.xlarge), or `local`.
    #[arg(long)]
    pub instance: String,
    /// Workloads to train, comma-separated [default: all]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(crate::workload::NAMES))]
    pub workload: Vec<String>,
    /// Backends to train on, comma-separated; one that cannot run here is recorded with the
    /// reason [default: all]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(crate::backend::names()))]
    pub backend: Vec<String>,
    /// Training epochs per run (epoch time is the median of epochs 2..N).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Batch sizes, comma-separated; each is its own run.
    #[arg(long, value_delimiter = ',', default_value = "32", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Vec<u32>,
    /// Repeats of each (workload, backend, batch size).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: u32,
    /// Number of synthetic images of the real shapes (20 % are held out for validation).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(2..))]
    pub synthetic: u32,
    /// Directory that receives runs.csv and epochs.csv (appended to).
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Seed for data, split, shuffling and weights.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Price in USD per hour, overriding the catalog's.
    #[arg(long)]
    pub price: Option<f64>,
}

/// Parses the command line and runs the command.
pub fn main() -> Result<()> {
    let out = &mut std::io::stdout().lock();
    match Cli::parse().command {
        Command::Run(args) => run::run(&args, out),
        Command::Probe => list::probe(out),
        Command::Instances => list::instances(out),
    }
}
