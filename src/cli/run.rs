//! `gpubench run`: every (backend, workload, batch size, repeat), one CSV row each.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{SecondsFormat, Utc};
use rand::Rng;

use super::RunArgs;
use super::plan::{check_data, missing_applies, or_all, plan, target, unique};
use super::rows::{self, Context, Key, epoch_rows, loss_rel_dev, run_row, sample_rows};
use crate::backend;
use crate::error::{Interrupted, NothingRan, input};
use crate::instance;
use crate::instance::host::Host;
use crate::record::{
    self, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, SAMPLES_FILE, SampleRow, Status,
};
use crate::train::{self, Job, Outcome, dispatch, interrupt, spinner};
use crate::workload::{self, DataSource};

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
    let mut backends = unique("--backend", &or_all(&args.backend, &backend::names()));
    let sp = &args.spread;
    sp.check(backends.len() * plan.len() * batch_sizes.len() * args.repeats as usize)?;
    let runs_csv = args.out.join(RUNS_FILE);
    let epochs_csv = args.out.join(EPOCHS_FILE);
    let samples_csv = args.out.join(SAMPLES_FILE);
    // Rows must be writable before any GPU time is spent on them.
    record::check_header::<RunRow>(&runs_csv)?;
    record::check_header::<EpochRow>(&epochs_csv)?;
    if args.keep_samples {
        record::check_header::<SampleRow>(&samples_csv)?;
    }
    record::check_writable(&args.out)?;

    // The reference every other backend's loss curve is compared with trains first.
    backends.sort_by_key(|b| b != REFERENCE);
    if sp.nodes > 1 && sp.node_rank == 0 {
        let c = sp.coordinator.as_deref().expect("checked");
        train::host_orchestrator(train::port_of(c)?).context("starting the coordinator")?;
    }
    let ctx = Context {
        // 64 random bits: two machines of a fleet starting in the same second never share one.
        run_id: sp.run_id.clone().unwrap_or_else(|| {
            format!(
                "{}-{:016x}",
                Utc::now().format("%Y%m%dT%H%M%SZ"),
                rand::rng().random::<u64>()
            )
        }),
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

    let mut runs = Runs {
        args,
        ctx: &ctx,
        runs_csv,
        epochs_csv,
        samples_csv,
        disk_cache_warm: backend::kernel_cache_warm(),
        compiled: HashSet::new(),
        reference: HashMap::new(),
    };
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
        let on = On {
            be,
            gpu_match: probe.as_ref().ok().and_then(|d| gpu_match(name, d, &ctx)),
            probe,
            peak,
        };
        let counts = sp.counts(on.probe.as_ref().map_or(1, |d| d.count));
        for (w, data) in &plan {
            let info = workload::info(w, args.model).expect("validated by plan");
            for &b in &batch_sizes {
                for &devices in &counts {
                    for repeat in 0..args.repeats as usize {
                        let planned = Planned {
                            w,
                            data,
                            info,
                            b,
                            devices,
                            repeat,
                        };
                        rows.push(runs.one(&on, planned)?);
                        if interrupt::requested() {
                            break 'runs;
                        }
                    }
                }
            }
        }
    }
    record::print_summary(out, &rows)?;
    if let Some(code) = interrupt::asked_exit_code() {
        return Err(Interrupted(code).into());
    }
    if rows.iter().all(|r| r.status == Status::Unavailable) {
        return Err(NothingRan.into());
    }
    Ok(())
}

/// What every run of one `gpubench run` shares, and what earlier runs left for later ones.
struct Runs<'a> {
    args: &'a RunArgs,
    ctx: &'a Context,
    runs_csv: PathBuf,
    epochs_csv: PathBuf,
    samples_csv: PathBuf,
    disk_cache_warm: bool,
    /// (backend, workload, per-replica batch) that compiled their kernels in this process.
    compiled: HashSet<(&'static str, &'static str, usize)>,
    /// The reference's per-epoch training losses, per (workload, batch size, devices).
    reference: HashMap<(&'static str, u32, usize), Vec<f64>>,
}

/// A backend as probed for this command.
struct On {
    be: &'static dyn backend::ComputeBackend,
    probe: Result<backend::DeviceInfo, String>,
    peak: Option<f64>,
    gpu_match: Option<bool>,
}

/// One run of the plan.
#[derive(Clone, Copy)]
struct Planned<'a> {
    w: &'static str,
    data: &'a DataSource,
    info: workload::Info,
    b: u32,
    devices: usize,
    repeat: usize,
}

impl Runs<'_> {
    /// Trains `p` on `on`, appends its rows and returns the run's row (for the summary and the
    /// exit code). A rank above 0 writes only a run that did not end ok: rank 0 speaks for it.
    fn one(&mut self, on: &On, p: Planned) -> Result<RunRow> {
        let (args, ctx, name) = (self.args, self.ctx, on.be.name());
        let sp = &args.spread;
        let Planned {
            w,
            info,
            b,
            devices,
            repeat,
            ..
        } = p;
        let spread = sp.spread(devices)?;
        let per_replica = sp.per_replica(b as usize, spread.replicas());
        let shape = (name, w, *per_replica.as_ref().unwrap_or(&(b as usize)));
        let cache = match (on.be.compiles_kernels(), self.compiled.contains(&shape)) {
            (false, _) => "none",
            (true, true) => "warm-process",
            (true, false) if self.disk_cache_warm => "warm-disk",
            (true, false) => "cold",
        };
        let started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let ready = on
            .probe
            .as_ref()
            .map_err(|why| reason(why, name, ctx))
            .and_then(|d| {
                dispatch::replicas_fit(on.be, d, devices, ctx.host.cpu_cores)?;
                let per = per_replica.clone()?;
                dispatch::fits(d, &info, per).map(|()| per)
            });
        let global_batch = per_replica
            .as_ref()
            .map_or(b as usize, |per| per * spread.replicas());
        let mut outcome = match ready {
            Err(why) => Outcome::empty(&info, Status::Unavailable, Some(why)),
            Ok(per) => {
                let tag = if devices > 1 {
                    format!("-d{devices}")
                } else {
                    String::new()
                };
                let stem = format!("{}-{w}-{name}-b{b}{tag}-r{repeat}", ctx.run_id);
                let job = Job {
                    workload: w,
                    model: args.model,
                    data: p.data,
                    batch_size: per,
                    spread,
                    epochs: args.epochs as usize,
                    seed: args.seed,
                    flip: args.flip,
                    target: target(&info, p.data, args),
                    stop_at_target: args.stop_at_target,
                    draw_to: Some(args.out.join(PICTURES).join(stem)),
                    label: format!("{w}/{name} b{b}{} #{repeat}", times(devices)),
                    telemetry: on.be.telemetry(devices),
                    keep_samples: args.keep_samples,
                };
                dispatch::run(on.be, &job).unwrap_or_else(|e| {
                    Outcome::empty(&info, Status::Failed, Some(format!("{e:#}")))
                })
            }
        };
        // Only a run that got through its first step compiled anything.
        let started = outcome.phases.warmup_s.is_some();
        if started {
            self.compiled.insert(shape);
        }
        let losses: Vec<f64> = outcome.epochs.iter().map(|e| e.train_loss).collect();
        let is_reference = name == REFERENCE && repeat == 0;
        let loss_rel_dev = match self.reference.get(&(w, b, devices)) {
            Some(r) if !is_reference => loss_rel_dev(&losses, r),
            _ => None,
        };
        if is_reference && !losses.is_empty() {
            self.reference.insert((w, b, devices), losses);
        }
        let key = Key {
            backend: name,
            batch_size: b as usize,
            repeat,
            compile_cache: started.then_some(cache),
            peak_measured_tflops: on.peak,
            missing: missing_applies(&info, p.data)
                .then(|| args.missing.unwrap_or_default().name()),
            flip: info.flips.then_some(args.flip),
            instance_gpu_match: on.gpu_match,
            layer_ops: on.be.layer_ops(),
            loss_rel_dev,
            spread: rows::Spread {
                devices,
                nodes: sp.nodes as usize,
                node_rank: sp.node_rank as usize,
                global_batch,
                strong: sp.global_batch,
            },
        };
        // Rows name pictures relative to runs.csv, so a synced directory still finds them.
        outcome.artifact = outcome.artifact.map(|p| {
            p.strip_prefix(&args.out)
                .map_or(p.clone(), Path::to_path_buf)
        });
        let row = run_row(ctx, key, started_at, on.probe.as_ref().ok(), &outcome);
        report_line(&row);
        // Rank 0 speaks for a multi-node run; another rank keeps only a failure's reason. The
        // run's row goes last: a process killed before it leaves no `ok` row without its epochs.
        if sp.node_rank == 0 {
            for e in epoch_rows(ctx, key, &outcome) {
                record::append(&self.epochs_csv, &e)?;
            }
            let samples = sample_rows(ctx, key, &outcome);
            // The readings are the run's detail: failing to keep them costs them, not the row.
            if !samples.is_empty()
                && let Err(e) = record::append_all(&self.samples_csv, &samples)
            {
                eprintln!("warning: {}: readings not kept: {e:#}", name);
            }
        }
        if sp.node_rank == 0 || row.status != Status::Ok {
            record::append(&self.runs_csv, &row)?;
        }
        Ok(row)
    }
}

/// ` ×N` for a run on N devices, nothing for one.
fn times(devices: usize) -> String {
    if devices > 1 {
        format!(" ×{devices}")
    } else {
        String::new()
    }
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
        "{}/{} b{}{} #{}",
        r.workload,
        r.backend,
        r.batch_size,
        times(r.devices.unwrap_or(1)),
        r.repeat
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
            count: 1,
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
