//! What one `gpubench run` trains: the workloads with their data, the lists of the command line
//! each once, and the options checked against what they apply to, all before anything runs.

use std::fmt::Display;
use std::time::Instant;

use anyhow::Result;
use clap::ValueEnum;

use super::RunArgs;
use crate::error::input;
use crate::workload::{
    self, DataSource, Info, ModelKind, ReadOption, ReadOptions, Target, Workload, WorkloadVisitor,
};

/// `values` with each value once, in the order given; a repeat is said, not run twice.
pub fn unique<T: PartialEq + Clone + Display>(flag: &str, values: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for v in values {
        if out.contains(v) {
            eprintln!("warning: {flag} names {v} more than once; it runs once");
        } else {
            out.push(v.clone());
        }
    }
    out
}

/// Whether `--missing` shapes this workload's data: real data whose reader honours it.
pub fn missing_applies(info: &Info, data: &DataSource) -> bool {
    matches!(data, DataSource::Files { .. }) && info.read_options.contains(&ReadOption::Missing)
}

/// The workloads to train with `--model`, each with its data: the `--data-*` given for it, or
/// synthetic images. Without `--workload`, the workloads given real data, or else all.
pub fn plan(args: &RunArgs) -> Result<Vec<(&'static str, DataSource)>> {
    let model = args.model.to_possible_value().expect("no skipped variants");
    let have = workload::with_model(args.model);
    let all: Vec<_> = have.iter().map(|w| (*w, source(w, args))).collect();
    let real = |d: &DataSource| !matches!(d, DataSource::Synthetic { .. });
    let named = unique("--workload", &args.workload);
    let chosen: Vec<_> = if named.iter().any(|w| w == "all") {
        all.clone()
    } else if !named.is_empty() {
        if let Some(w) = named.iter().find(|w| !have.contains(&w.as_str())) {
            return input(format!(
                "--model {} is not a model of {w}; it trains: {}",
                model.get_name(),
                have.join(", ")
            ));
        }
        all.iter()
            .filter(|(w, _)| named.iter().any(|c| c == w))
            .cloned()
            .collect()
    } else if all.iter().any(|(_, d)| real(d)) {
        all.iter().filter(|(_, d)| real(d)).cloned().collect()
    } else {
        all.clone()
    };
    // An option for a workload the run does not train is a mistake, not something to ignore.
    let trains = |w: &str| chosen.iter().any(|(c, _)| *c == w);
    if let Some((w, flag, _)) = args.data.0.iter().find(|(w, _, _)| !trains(w)) {
        return input(format!(
            "--{flag} is for the {w} workload, which this run does not train"
        ));
    }
    let flips: Vec<&str> = workload::all_info()
        .iter()
        .filter(|i| i.flips)
        .map(|i| i.name)
        .collect();
    if args.flip && !flips.iter().any(|w| trains(w)) {
        return input(format!(
            "--flip is for the {} workload, which this run does not train",
            flips.join(", ")
        ));
    }
    let given = [
        (ReadOption::Missing, "--missing", args.missing.is_some()),
        (ReadOption::SkipBad, "--skip-bad", args.skip_bad),
    ];
    for (option, flag, _) in given.iter().filter(|g| g.2) {
        let honours = |w: &str| {
            workload::info(w, args.model).is_some_and(|i| i.read_options.contains(option))
        };
        if !chosen.iter().any(|(w, d)| honours(w) && real(d)) {
            let mut readers: Vec<String> = workload::all_info()
                .iter()
                .filter(|i| i.read_options.contains(option))
                .filter_map(|i| i.data_flag.map(|f| format!("--{}", f.long)))
                .collect();
            readers.dedup(); // turtle's two models share --data-turtle
            return input(format!(
                "{flag} applies to real data read with {}, which this run does not read",
                readers.join(" or ")
            ));
        }
    }
    for ((flag, metric), value) in targets_given(args) {
        let measured_by =
            |w: &str| workload::info(w, args.model).is_some_and(|i| i.metric_name == metric);
        if value.is_some() && !chosen.iter().any(|(w, _)| measured_by(w)) {
            let mut by: Vec<&str> = workload::all_info()
                .iter()
                .filter(|i| i.metric_name == metric)
                .map(|i| i.name)
                .collect();
            by.dedup();
            return input(format!(
                "{flag} is for workloads measured by {metric} ({}), which this run does not train",
                by.join(", ")
            ));
        }
    }
    Ok(chosen)
}

/// Each target option, the validation metric it is the target of, and its value if given.
fn targets_given(args: &RunArgs) -> [((&'static str, &'static str), Option<f64>); 2] {
    [
        (("--target-rmse", "rmse_px"), args.target_rmse),
        (("--target-accuracy", "accuracy"), args.target_accuracy),
    ]
}

/// What a run of `info` on `data` trains to: the option for its metric, or its default.
pub fn target(info: &Info, data: &DataSource, args: &RunArgs) -> Target {
    let given = targets_given(args)
        .into_iter()
        .find(|((_, metric), _)| *metric == info.metric_name)
        .and_then(|(_, value)| value);
    info.target(given, matches!(data, DataSource::Synthetic { .. }))
}

fn source(workload: &str, args: &RunArgs) -> DataSource {
    match args.data.0.iter().find(|(w, _, _)| *w == workload) {
        Some((_, _, path)) => DataSource::Files {
            path: path.clone(),
            options: ReadOptions {
                missing: args.missing.unwrap_or_default(),
                skip_bad: args.skip_bad,
            },
        },
        None => DataSource::Synthetic {
            n: args.synthetic as usize,
        },
    }
}

/// Reads real data once before any run, so a malformed file stops everything before a row is
/// written (each run then reads it again inside its own timed data phase). Returns the image count.
pub fn check_data(w: &str, model: ModelKind, data: &DataSource, seed: u64) -> Result<usize> {
    struct Check<'a>(&'a DataSource, u64);
    impl WorkloadVisitor for Check<'_> {
        type Output = Result<usize>;
        fn visit<W: Workload>(self, w: W) -> Result<usize> {
            Ok(self.0.load(&w, self.1)?.len(w.target_len()))
        }
    }
    if let DataSource::Synthetic { n } = data {
        return Ok(*n);
    }
    let t = Instant::now();
    let n = workload::visit(w, model, Check(data, seed)).expect("validated by plan")?;
    eprintln!(
        "{w}: {n} images read and checked in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    Ok(n)
}

pub fn or_all(chosen: &[String], all: &[&str]) -> Vec<String> {
    if chosen.is_empty() || chosen.iter().any(|c| c == "all") {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        chosen.to_vec()
    }
}
