//! `gpubench run`: every (backend, workload, batch size, repeat), one CSV row each.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::{SecondsFormat, Utc};
use clap::ValueEnum;
use rand::Rng;

use super::RunArgs;
use super::rows::{Context, Key, epoch_rows, run_row};
use crate::backend;
use crate::error::{Interrupted, input};
use crate::instance;
use crate::instance::host::Host;
use crate::record::{self, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, Status};
use crate::train::{self, Job, Outcome, dispatch, interrupt};
use crate::workload::{self, DataSource, ModelKind, ReadOptions, Workload, WorkloadVisitor};

/// Subdirectory of --out for the pictures runs draw.
const PICTURES: &str = "pictures";

pub fn run(args: &RunArgs, out: &mut impl std::io::Write) -> Result<()> {
    interrupt::install().context("installing the Ctrl-C handler")?;
    // Everything that can be wrong with the input is checked before the first row is written.
    let (instance, instance_source) = instance::resolve(&args.instance)?;
    let price = instance.price(args.price, args.spot)?;
    let plan = plan(args)?;
    for (w, data) in &plan {
        let n = check_data(w, args.model, data, args.seed)?;
        let n_train = train::n_train(n);
        if let Some(b) = args.batch_size.iter().find(|&&b| b as usize > n_train) {
            return input(format!(
                "--batch-size {b} is larger than the {n_train} training images of {w} \
                 ({n} images, 20 % held out for validation)"
            ));
        }
    }
    let runs_csv = args.out.join(RUNS_FILE);
    let epochs_csv = args.out.join(EPOCHS_FILE);
    record::check_header::<RunRow>(&runs_csv)?;
    record::check_header::<EpochRow>(&epochs_csv)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let backends = or_all(&args.backend, &backend::names());
    let ctx = Context {
        run_id: format!(
            "{}-{:04x}",
            Utc::now().format("%Y%m%dT%H%M%SZ"),
            rand::rng().random::<u16>()
        ),
        price,
        gpu: instance.gpu_model()?,
        instance,
        instance_source,
        host: Host::read(),
        epochs: args.epochs as usize,
        seed: args.seed,
    };
    eprintln!(
        "run {} on {} -> {}",
        ctx.run_id,
        ctx.instance.name,
        args.out.display()
    );

    let disk_cache_warm = backend::kernel_cache_warm();
    let mut compiled = HashSet::new();
    let mut rows = Vec::new();
    'runs: for name in &backends {
        let be = backend::find(name).expect("validated by clap");
        let probe = backend::probe(be);
        let peak = match &probe {
            Ok(d) => {
                eprintln!("{name}: {} ({})", d.name, d.kind);
                measured_peak(be, d)
            }
            Err(why) => {
                eprintln!("{name}: unavailable: {why}");
                None
            }
        };
        for (w, data) in &plan {
            let info = workload::info(w, args.model).expect("validated by plan");
            for &b in &args.batch_size {
                for repeat in 0..args.repeats as usize {
                    let cache = match (be.compiles_kernels(), compiled.contains(&(name, *w, b))) {
                        (false, _) => "none",
                        (true, true) => "warm-process",
                        (true, false) if disk_cache_warm => "warm-disk",
                        (true, false) => "cold",
                    };
                    let started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                    let fits = probe.as_ref().map_err(|why| reason(why, name, &ctx));
                    let mut outcome = match fits.and_then(|d| dispatch::fits(d, &info, b as usize))
                    {
                        Err(why) => Outcome::empty(&info, Status::Unavailable, Some(why)),
                        Ok(()) => {
                            let stem = format!("{}-{w}-{name}-b{b}-r{repeat}", ctx.run_id);
                            let job = Job {
                                workload: w,
                                model: args.model,
                                data,
                                batch_size: b as usize,
                                epochs: args.epochs as usize,
                                seed: args.seed,
                                flip: args.flip,
                                draw_to: Some(args.out.join(PICTURES).join(stem)),
                                label: format!("{w}/{name} b{b} #{repeat}"),
                            };
                            dispatch::run(be, &job).unwrap_or_else(|e| {
                                Outcome::empty(&info, Status::Failed, Some(format!("{e:#}")))
                            })
                        }
                    };
                    // Only a run that got through its first step compiled anything.
                    let started = outcome.phases.warmup_s.is_some();
                    if started {
                        compiled.insert((name, *w, b));
                    }
                    let key = Key {
                        backend: name,
                        batch_size: b as usize,
                        repeat,
                        compile_cache: started.then_some(cache),
                        peak_measured_tflops: peak,
                    };
                    // Rows name pictures relative to runs.csv, so a synced directory still finds them.
                    outcome.artifact = outcome.artifact.map(|p| {
                        p.strip_prefix(&args.out)
                            .map_or(p.clone(), Path::to_path_buf)
                    });
                    let row = run_row(&ctx, key, started_at, probe.as_ref().ok(), &outcome);
                    record::append(&runs_csv, &row)?;
                    for e in epoch_rows(&ctx, key, &outcome) {
                        record::append(&epochs_csv, &e)?;
                    }
                    report_line(&row);
                    rows.push(row);
                    if interrupt::requested() {
                        break 'runs;
                    }
                }
            }
        }
    }
    record::print_summary(out, &rows)?;
    if interrupt::requested() {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// The workloads to train with `--model`, each with its data: the `--data-*` given for it, or
/// synthetic images. Without `--workload`, the workloads given real data, or else all.
fn plan(args: &RunArgs) -> Result<Vec<(&'static str, DataSource)>> {
    let model = args.model.to_possible_value().expect("no skipped variants");
    let have = workload::with_model(args.model);
    let all: Vec<_> = have.iter().map(|w| (*w, source(w, args))).collect();
    let real = |d: &DataSource| !matches!(d, DataSource::Synthetic { .. });
    let chosen: Vec<_> = if !args.workload.is_empty() {
        if let Some(w) = args.workload.iter().find(|w| !have.contains(&w.as_str())) {
            return input(format!(
                "--model {} is not a model of {w}; it trains: {}",
                model.get_name(),
                have.join(", ")
            ));
        }
        all.iter()
            .filter(|(w, _)| args.workload.iter().any(|c| c == w))
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
    Ok(chosen)
}

fn source(workload: &str, args: &RunArgs) -> DataSource {
    match args.data.0.iter().find(|(w, _, _)| *w == workload) {
        Some((_, _, path)) => DataSource::Files {
            path: path.clone(),
            options: ReadOptions {
                missing: args.missing,
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
fn check_data(w: &str, model: ModelKind, data: &DataSource, seed: u64) -> Result<usize> {
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

/// The GEMM peak of the device a GPU backend trains on, measured before its runs; why there is
/// none is said, since an empty `peak_measured_tflops` column alone explains nothing.
fn measured_peak(be: &dyn backend::ComputeBackend, d: &backend::DeviceInfo) -> Option<f64> {
    match be.measure_peak()? {
        Ok(peak) => {
            eprintln!(
                "{}: measured GEMM peak {:.0} GFLOP/s on {}",
                be.name(),
                peak * 1e3,
                d.name
            );
            Some(peak)
        }
        Err(why) => {
            eprintln!("{}: no measured GEMM peak on {}: {why}", be.name(), d.name);
            None
        }
    }
}

fn or_all(chosen: &[String], all: &[&str]) -> Vec<String> {
    if chosen.is_empty() {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        chosen.to_vec()
    }
}

/// The probe's reason, plus what the catalog says this instance should have for a GPU backend.
fn reason(why: &str, backend: &str, ctx: &Context) -> String {
    match (backend, ctx.instance.gpu_summary()) {
        ("cuda" | "wgpu", Some(gpu)) => {
            format!("{why} (the catalog lists {gpu} for {})", ctx.instance.name)
        }
        _ => why.to_string(),
    }
}

fn report_line(r: &RunRow) {
    let what = format!(
        "{}/{} b{} #{}",
        r.workload, r.backend, r.batch_size, r.repeat
    );
    match (r.status, r.total_s) {
        (Status::Ok, Some(t)) => eprintln!("{what}: ok in {t:.1} s"),
        _ => eprintln!("{what}: {}", r.status.as_str()),
    }
}
