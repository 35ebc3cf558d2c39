//! `gpubench run`: every (backend, workload, batch size, repeat), one CSV row each.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context as _, Result};
use chrono::{SecondsFormat, Utc};
use rand::Rng;

use super::RunArgs;
use super::plan::{check_data, missing_applies, or_all, plan, target, unique};
use super::rows::{Context, Key, epoch_rows, loss_rel_dev, run_row};
use crate::backend;
use crate::error::{Interrupted, NothingRan, input};
use crate::instance;
use crate::instance::host::Host;
use crate::record::{self, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, Status};
use crate::train::{self, Job, Outcome, dispatch, interrupt, spinner};
use crate::workload;

/// The backend whose training loss every other backend's is compared with (`loss_rel_dev`).
const REFERENCE: &str = "cpu";
/// Subdirectory of --out for the pictures runs draw.
const PICTURES: &str = "pictures";

pub fn run(args: &RunArgs, out: &mut impl std::io::Write) -> Result<()> {
    interrupt::install().context("installing the Ctrl-C handler")?;
    backend::set_cpu_ops(args.cpu_ops);
    // Everything that can be wrong with the input is checked before the first row is written.
    let (instance, instance_source) = instance::resolve(&args.instance, args.price.is_some())?;
    if args.out.exists() && !args.out.is_dir() {
        return input(format!(
            "--out {}: a file, not a folder (runs.csv and epochs.csv go into a folder)",
            args.out.display()
        ));
    }
    let price = instance.price(args.price, args.spot)?;
    let batch_sizes = unique("--batch-size", &args.batch_size);
    let plan = plan(args)?;
    for (w, data) in &plan {
        let n = check_data(w, args.model, data, args.seed)?;
        let n_train = train::n_train(n);
        if let Some(b) = batch_sizes.iter().find(|&&b| b as usize > n_train) {
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
    out_dir(&args.out)?;

    let mut backends = unique("--backend", &or_all(&args.backend, &backend::names()));
    // The reference every other backend's loss curve is compared with trains first.
    backends.sort_by_key(|b| b != REFERENCE);
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
    // The reference's per-epoch training losses, per (workload, batch size).
    let mut reference: HashMap<(&str, u32), Vec<f64>> = HashMap::new();
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
        let gpu_match = probe.as_ref().ok().and_then(|d| gpu_match(name, d, &ctx));
        for (w, data) in &plan {
            let info = workload::info(w, args.model).expect("validated by plan");
            for &b in &batch_sizes {
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
                                target: target(&info, data, args),
                                stop_at_target: args.stop_at_target,
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
                    let losses: Vec<f64> = outcome.epochs.iter().map(|e| e.train_loss).collect();
                    let is_reference = name == REFERENCE && repeat == 0;
                    let loss_rel_dev = match reference.get(&(*w, b)) {
                        Some(r) if !is_reference => loss_rel_dev(&losses, r),
                        _ => None,
                    };
                    if is_reference && !losses.is_empty() {
                        reference.insert((*w, b), losses);
                    }
                    let key = Key {
                        backend: name,
                        batch_size: b as usize,
                        repeat,
                        compile_cache: started.then_some(cache),
                        peak_measured_tflops: peak,
                        missing: missing_applies(&info, data)
                            .then(|| args.missing.unwrap_or_default().name()),
                        flip: info.flips.then_some(args.flip),
                        instance_gpu_match: gpu_match,
                        layer_ops: be.layer_ops(),
                        loss_rel_dev,
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
    if rows.iter().all(|r| r.status == Status::Unavailable) {
        return Err(NothingRan.into());
    }
    Ok(())
}

/// Creates `--out` if absent; a folder that cannot be made is the user's to fix (exit code 2).
fn out_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::error::InputError(format!("--out {}: cannot create it: {e}", dir.display())).into()
    })
}

/// For a run on a GPU of a catalog instance: whether the device is the catalog's GPU for it.
/// A mismatch (a T4 under an A10G type's name) is said, and the rows are flagged.
fn gpu_match(backend: &str, d: &backend::DeviceInfo, ctx: &Context) -> Option<bool> {
    if !d.kind.ends_with("gpu") || ctx.instance.provider == "local" {
        return None;
    }
    let ok = ctx.gpu.as_ref().is_some_and(|g| g.matches(&d.name));
    if !ok {
        let listed = ctx
            .instance
            .gpu_summary()
            .unwrap_or_else(|| "no GPU".into());
        eprintln!(
            "warning: {backend} runs on {}, but the catalog lists {listed} for {}; its prices and \
             mfu are the catalog's, so the rows say instance_gpu_match=false",
            d.name, ctx.instance.name
        );
    }
    Some(ok)
}

/// The GEMM peak of the device a GPU backend trains on, measured before its runs; why there is
/// none is said, since an empty `peak_measured_tflops` column alone explains nothing.
fn measured_peak(be: &dyn backend::ComputeBackend, d: &backend::DeviceInfo) -> Option<f64> {
    let shown = spinner(format!(
        "{}: measuring the GEMM peak of {}",
        be.name(),
        d.name
    ));
    let measured = be.measure_peak();
    drop(shown);
    match measured? {
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
    let parity = r.loss_rel_dev.map_or(String::new(), |d| {
        format!(", training loss {d:.1e} from cpu's")
    });
    match (r.status, r.total_s) {
        (Status::Ok, Some(t)) => eprintln!("{what}: ok in {t:.1} s{parity}"),
        _ => eprintln!("{what}: {}{parity}", r.status.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::catalog;

    fn ctx(instance: &str) -> Context {
        let instance = catalog::lookup(instance).unwrap();
        Context {
            run_id: "r".into(),
            price: None,
            gpu: instance.gpu_model().unwrap(),
            instance,
            instance_source: "cli".into(),
            host: Host::read(),
            epochs: 1,
            seed: 1,
        }
    }

    fn device(name: &str, kind: &str) -> backend::DeviceInfo {
        backend::DeviceInfo {
            name: name.into(),
            kind: kind.into(),
            driver: None,
            max_buffer_bytes: None,
        }
    }

    #[test]
    fn a_gpu_run_is_checked_against_the_catalogs_gpu_for_the_instance() {
        let gpu = |name| device(name, "discrete-gpu");
        assert_eq!(
            gpu_match("cuda", &gpu("NVIDIA A10G"), &ctx("g5.xlarge")),
            Some(true)
        );
        assert_eq!(
            gpu_match("cuda", &gpu("Tesla T4"), &ctx("g5.xlarge")),
            Some(false)
        );
        // Off a GPU, or on a machine the catalog does not describe, there is nothing to check.
        let lavapipe = device("llvmpipe (LLVM 15.0.6, 256 bits)", "cpu");
        assert_eq!(gpu_match("wgpu", &lavapipe, &ctx("g5.xlarge")), None);
        assert_eq!(gpu_match("cuda", &gpu("Tesla T4"), &ctx("local")), None);
    }
}
