//! Rows of `runs.csv` and `epochs.csv` built from what a run measured, and the numbers derived
//! from it: the writer's side of the contract in `record`.

use crate::backend::DeviceInfo;
use crate::instance::gpus::Gpu;
use crate::instance::host::Host;
use crate::instance::{Instance, Price};
use crate::record::{EpochRow, RunRow, SCHEMA_VERSION, SampleRow};
use crate::telemetry::Stats;
use crate::train::Outcome;

/// burn is pinned to exactly this version in Cargo.toml.
pub const BURN_VERSION: &str = "0.21.0";

/// What every row of one `gpubench run` shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub run_id: String,
    pub instance: Instance,
    /// How the instance was named: `cli` for `--instance NAME`.
    pub instance_source: String,
    pub price: Option<Price>,
    /// The instance's GPU model from the catalog, if it has one.
    pub gpu: Option<Gpu>,
    pub host: Host,
    pub epochs: usize,
    pub seed: u64,
}

/// Which of a run's measurements one row describes, and what held for it on the device.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub backend: &'a str,
    pub batch_size: usize,
    pub repeat: usize,
    /// `cold`, `warm-disk`, `warm-process`, or `none` for a backend that compiles no kernels;
    /// `None` for a run that never started.
    pub compile_cache: Option<&'a str>,
    /// The GEMM TFLOP/s this device measured before training, if it was measured.
    pub peak_measured_tflops: Option<f64>,
    /// `--missing` as given for real data whose reader honours it; `--flip` for a workload
    /// that mirrors; `None` where the option does not apply.
    pub missing: Option<&'a str>,
    pub flip: Option<bool>,
    /// Whether a GPU run's device is the catalog's GPU for the instance.
    pub instance_gpu_match: Option<bool>,
    /// Whose kernels the layers ran on ([`crate::backend::ComputeBackend::layer_ops`]).
    pub layer_ops: &'a str,
    /// How far the training loss left the cpu reference's ([`loss_rel_dev`]).
    pub loss_rel_dev: Option<f64>,
    pub spread: Spread,
}

/// What a run was spread over, as its row says it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub devices: usize,
    pub nodes: usize,
    pub node_rank: usize,
    pub global_batch: usize,
    /// `--global-batch`: the batch size is the global batch, not each device's.
    pub strong: bool,
}

#[cfg(test)]
impl Spread {
    /// One device of one node.
    pub fn one(batch: usize) -> Self {
        Self {
            devices: 1,
            nodes: 1,
            node_rank: 0,
            global_batch: batch,
            strong: false,
        }
    }
}

/// The `runs.csv` row of one run.
pub fn run_row(
    ctx: &Context,
    key: Key,
    started_at: String,
    device: Option<&DeviceInfo>,
    o: &Outcome,
) -> RunRow {
    let p = &o.phases;
    let epoch_s_median = steady_epoch_median(o);
    let images_per_s = match (o.steady_images, p.train_s) {
        (n, Some(t)) if n > 0 && t > 0.0 => Some(n as f64 / t),
        _ => None,
    };
    let usd_per_s = ctx.price.as_ref().map(|p| p.usd_per_hour / 3600.0);
    let achieved_tflops = images_per_s.map(|ips| ips * o.flops_per_image as f64 / 1e12);
    let peak = ctx.gpu.as_ref().and_then(|g| g.fp32_tflops);
    // Utilization against the instance's GPU only means something for a run on a GPU.
    let on_gpu = device.is_some_and(|d| d.kind.ends_with("gpu"));
    let energy = Energy::of(o, key.spread.nodes);
    let to_target = o.epochs_to_target.and_then(|k| {
        let train: f64 = o.epochs.iter().take(k).map(|e| e.seconds).sum();
        Some((train, train + p.device_init_s? + p.model_init_s?))
    });
    RunRow {
        schema_version: SCHEMA_VERSION,
        run_id: ctx.run_id.clone(),
        started_at,
        status: o.status,
        error: o.error.clone(),
        instance: ctx.instance.name.clone(),
        instance_source: ctx.instance_source.clone(),
        provider: Some(ctx.instance.provider.clone()),
        region: ctx.instance.region.clone(),
        price_usd_per_hour: ctx.price.as_ref().map(|p| p.usd_per_hour),
        price_kind: ctx.price.as_ref().map(|p| p.kind.to_string()),
        price_date: ctx.price.as_ref().and_then(|p| p.date.clone()),
        backend: key.backend.to_string(),
        device_name: device.map(|d| d.name.clone()),
        device_kind: device.map(|d| d.kind.clone()),
        driver: device.and_then(|d| d.driver.clone()),
        workload: o.workload.to_string(),
        model: o.model.to_string(),
        params: o.params,
        flops_per_image: Some(o.flops_per_image),
        dataset: o.dataset.map(str::to_string),
        dataset_sha256: o.dataset_sha256.clone(),
        n_train: o.n_train,
        n_val: o.n_val,
        batch_size: key.batch_size,
        epochs: ctx.epochs,
        repeat: key.repeat,
        seed: ctx.seed,
        device_init_s: p.device_init_s,
        data_load_s: p.data_load_s,
        model_init_s: p.model_init_s,
        warmup_s: p.warmup_s,
        train_s: p.train_s,
        eval_s: p.eval_s,
        init_s: p.init_s(),
        total_s: o.total_s,
        epoch_s_median,
        images_per_s,
        achieved_tflops,
        mfu: achieved_tflops
            .zip(peak)
            .filter(|_| on_gpu)
            .map(|(a, p)| a / p),
        final_train_loss: o.epochs.last().map(|e| e.train_loss),
        val_loss: o.val_loss,
        val_metric_name: Some(o.val_metric_name.to_string()),
        val_metric: o.val_metric,
        cost_usd: usd_per_s.zip(o.total_s).map(|(r, t)| r * t),
        cost_per_epoch_usd: usd_per_s.zip(epoch_s_median).map(|(r, t)| r * t),
        gpubench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_sha: option_env!("GPUBENCH_GIT_SHA")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        burn_version: BURN_VERSION.to_string(),
        os: ctx.host.os.clone(),
        cpu_model: Some(ctx.host.cpu_model.clone()),
        cpu_cores: Some(ctx.host.cpu_cores),
        mem_gib: Some((ctx.host.mem_gib * 100.0).round() / 100.0),
        instance_gpu: ctx.gpu.as_ref().map(|g| g.name.clone()),
        gpu_peak_fp32_tflops: peak,
        peak_measured_tflops: key.peak_measured_tflops,
        // Measured on the device that trained, so it holds for software Vulkan too.
        mfu_measured: achieved_tflops
            .zip(key.peak_measured_tflops)
            .map(|(a, p)| a / p),
        n_skipped: o.skipped,
        compile_cache: key.compile_cache.map(str::to_string),
        artifact: o.artifact.as_ref().map(|p| p.display().to_string()),
        input_wait_s: o.input_wait_s,
        host_id: ctx.host.host_id.clone(),
        missing: key.missing.map(str::to_string),
        flip: key.flip,
        instance_gpu_match: key.instance_gpu_match,
        val_confusion: o.confusion.as_deref().and_then(|c| confusion(o.classes, c)),
        init_sha256: o.init_sha256.clone(),
        layer_ops: Some(key.layer_ops.to_string()),
        loss_rel_dev: key.loss_rel_dev,
        target: o.target,
        epochs_to_target: o.epochs_to_target,
        time_to_target_s: to_target.map(|t| t.0),
        time_to_target_init_s: to_target.map(|t| t.1),
        cost_to_target_usd: usd_per_s.zip(to_target).map(|(r, t)| r * t.1),
        devices: Some(key.spread.devices),
        nodes: Some(key.spread.nodes),
        node_rank: Some(key.spread.node_rank),
        global_batch: Some(key.spread.global_batch),
        scaling: Some(if key.spread.strong { "strong" } else { "weak" }.to_string()),
        comm_s: o.comm_s,
        // Only a run whose devices started used them.
        gpus_used: p.device_init_s.map(|_| {
            if on_gpu {
                key.spread.devices * key.spread.nodes
            } else {
                0
            }
        }),
        // A machine outside the catalog has no GPU count that bills.
        gpu_count: (ctx.instance.provider != "local").then_some(ctx.instance.gpu_count as usize),
        energy_source: energy.source,
        energy_method: energy.method,
        warmup_energy_j: joules(&energy.warmup),
        train_energy_j: joules(&energy.train),
        total_energy_j: joules(&energy.total),
        joules_per_image: joules(&energy.train)
            .filter(|_| o.steady_images > 0)
            .map(|j| j / o.steady_images as f64),
        power_mean_w: energy.train.as_ref().and_then(Stats::power_mean_w),
        power_max_w: energy.total.as_ref().and_then(|s| s.power_max_w),
        clock_sm_mhz_mean: energy.train.as_ref().and_then(Stats::clock_sm_mhz_mean),
        temp_max_c: energy.total.as_ref().and_then(|s| s.temp_max_c),
        mem_used_max_mib: energy.total.as_ref().and_then(|s| s.mem_used_max_mib),
        throttle_reasons: energy.training.and_then(|s| s.reasons()),
        zone: ctx.instance.zone.clone(),
    }
}

/// Joules to the microjoule the counters count in (the float sums of their deltas are not).
fn joules(s: &Option<Stats>) -> Option<f64> {
    s.as_ref()?.energy_j.map(|j| (j * 1e6).round() / 1e6)
}

/// A run's telemetry, as its row sums it up.
struct Energy {
    source: Option<String>,
    method: Option<String>,
    warmup: Option<Stats>,
    /// The steady steps: the span of `train_s`.
    train: Option<Stats>,
    /// Warm-up and steady steps: where clocks held down slow training.
    training: Option<Stats>,
    total: Option<Stats>,
}

impl Energy {
    fn of(o: &Outcome, nodes: usize) -> Self {
        let t = &o.telemetry;
        if nodes > 1 {
            // Each node reads its own devices; a row holding node 0's would claim the run's.
            return Self {
                source: Some("none: a multi-node run's energy is not summed over its nodes".into()),
                method: None,
                warmup: None,
                train: None,
                training: None,
                total: None,
            };
        }
        Self {
            source: Some(t.source.clone()).filter(|s| !s.is_empty()),
            method: t.method.map(str::to_string),
            warmup: t.phase("warmup").cloned(),
            train: t.phase("train").cloned(),
            training: t.over(&["warmup", "train"]),
            total: t.total(),
        }
    }
}

/// The `samples.csv` rows of one run (empty without `--keep-samples`).
pub fn sample_rows(ctx: &Context, key: Key, o: &Outcome) -> Vec<SampleRow> {
    o.telemetry
        .samples
        .iter()
        .map(|s| SampleRow {
            run_id: ctx.run_id.clone(),
            workload: o.workload.to_string(),
            backend: key.backend.to_string(),
            batch_size: key.batch_size,
            repeat: key.repeat,
            devices: key.spread.devices,
            t_s: (s.t_s * 1e4).round() / 1e4,
            phase: s.phase.to_string(),
            power_w: s.power_w,
            energy_j: s.energy_j,
            sm_clock_mhz: s.sm_clock_mhz,
            temp_c: s.temp_c,
            mem_used_mib: s.mem_used_mib,
            throttle_reasons: (!s.throttle.is_empty()).then(|| s.throttle.join(";")),
        })
        .collect()
}

/// The largest relative difference between a run's per-epoch training losses and the
/// reference's, over the epochs both have with finite losses; `None` when they share none.
pub fn loss_rel_dev(losses: &[f64], reference: &[f64]) -> Option<f64> {
    losses
        .iter()
        .zip(reference)
        .filter(|(l, r)| l.is_finite() && r.is_finite())
        .map(|(l, r)| (l - r).abs() / r.abs().max(f64::MIN_POSITIVE))
        .reduce(f64::max)
}

/// Confusion counts as `val_confusion` writes them: per true class, its name and how many of
/// its images were predicted as each class, in class order (`noface: 40 3; face: 5 52`).
fn confusion(classes: &[&str], counts: &[u64]) -> Option<String> {
    let k = classes.len();
    (k > 0 && counts.len() == k * k).then(|| {
        let rows: Vec<String> = classes
            .iter()
            .zip(counts.chunks_exact(k))
            .map(|(name, row)| {
                let n: Vec<String> = row.iter().map(u64::to_string).collect();
                format!("{name}: {}", n.join(" "))
            })
            .collect();
        rows.join("; ")
    })
}

/// The `epochs.csv` rows of one run.
pub fn epoch_rows(ctx: &Context, key: Key, o: &Outcome) -> Vec<EpochRow> {
    o.epochs
        .iter()
        .map(|e| EpochRow {
            run_id: ctx.run_id.clone(),
            workload: o.workload.to_string(),
            backend: key.backend.to_string(),
            batch_size: key.batch_size,
            repeat: key.repeat,
            epoch: e.epoch,
            seconds: e.seconds,
            train_loss: e.train_loss,
            val_metric: e.val_metric,
            devices: key.spread.devices,
        })
        .collect()
}

/// Median training time of the steady epochs (all but the first, which holds the warm-up
/// step). Empty with fewer than two epochs: a steady epoch was never measured.
fn steady_epoch_median(o: &Outcome) -> Option<f64> {
    let mut s: Vec<f64> = o.epochs.iter().skip(1).map(|e| e.seconds).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::catalog;
    use crate::record::Status;
    use crate::train::{EpochStats, Phases};
    use crate::workload::{Info, Keypoints};

    fn outcome() -> Outcome {
        let mut o = Outcome::empty(&Info::of(&Keypoints), Status::Ok, None);
        o.phases = Phases {
            device_init_s: Some(1.0),
            data_load_s: Some(0.5),
            model_init_s: Some(0.25),
            warmup_s: Some(2.0),
            train_s: Some(8.0),
            eval_s: Some(1.0),
        };
        o.total_s = Some(12.75);
        o.steady_images = 800;
        (o.target, o.epochs_to_target) = (Some(5.0), Some(2));
        o.epochs = [(1, 6.0, 0.5), (2, 4.0, 0.3), (3, 3.0, 0.2), (4, 5.0, 0.1)]
            .map(|(epoch, seconds, train_loss)| EpochStats {
                epoch,
                seconds,
                train_loss,
                val_metric: None,
            })
            .to_vec();
        o
    }

    fn context(instance: &str) -> Context {
        let instance = catalog::lookup(instance).unwrap();
        Context {
            run_id: "r".into(),
            price: instance.price(None, false).unwrap(),
            gpu: instance.gpu_model().unwrap(),
            instance,
            instance_source: "cli".into(),
            host: Host {
                os: None,
                cpu_model: "cpu".into(),
                cpu_cores: 2,
                mem_gib: 1.0,
                host_id: Some("0123456789ab".into()),
            },
            epochs: 4,
            seed: 1,
        }
    }

    fn device(kind: &str) -> DeviceInfo {
        DeviceInfo {
            name: "dev".into(),
            kind: kind.into(),
            driver: None,
            max_buffer_bytes: None,
            count: 1,
        }
    }

    #[test]
    fn derived_numbers_come_from_the_measurements() {
        let key = Key {
            backend: "cuda",
            batch_size: 16,
            repeat: 0,
            compile_cache: Some("cold"),
            peak_measured_tflops: Some(20.0),
            missing: Some("drop"),
            flip: Some(true),
            instance_gpu_match: Some(true),
            layer_ops: "burn",
            loss_rel_dev: Some(0.01),
            spread: Spread::one(16),
        };
        let r = run_row(
            &context("g5.xlarge"),
            key,
            "t".into(),
            Some(&device("discrete-gpu")),
            &outcome(),
        );
        assert_eq!(r.init_s, Some(3.25));
        assert_eq!(r.epoch_s_median, Some(4.0)); // epochs 2..4: 4, 3, 5
        assert_eq!(r.images_per_s, Some(100.0));
        let achieved = 100.0 * 262_486_512.0 / 1e12;
        assert_eq!(r.achieved_tflops, Some(achieved));
        assert_eq!(
            (r.instance_gpu.as_deref(), r.gpu_peak_fp32_tflops),
            (Some("NVIDIA A10G"), Some(35.0))
        );
        assert_eq!(r.mfu, Some(achieved / 35.0));
        assert_eq!(r.mfu_measured, Some(achieved / 20.0));
        assert_eq!(r.compile_cache.as_deref(), Some("cold"));
        assert_eq!(r.price_usd_per_hour, Some(1.006));
        assert_eq!(r.cost_usd, Some(1.006 / 3600.0 * 12.75));
        assert_eq!(r.cost_per_epoch_usd, Some(1.006 / 3600.0 * 4.0));
        assert_eq!(r.final_train_loss, Some(0.1));
        assert_eq!(
            (r.host_id.as_deref(), r.missing.as_deref(), r.flip),
            (Some("0123456789ab"), Some("drop"), Some(true))
        );
        assert_eq!((r.instance_gpu_match, r.val_confusion), (Some(true), None));
        assert_eq!(
            (r.layer_ops.as_deref(), r.loss_rel_dev),
            (Some("burn"), Some(0.01))
        );
        // Reached at epoch 2: epochs 1 and 2 train 6 + 4 s; device and model init add 1.25 s.
        assert_eq!((r.target, r.epochs_to_target), (Some(5.0), Some(2)));
        assert_eq!(
            (r.time_to_target_s, r.time_to_target_init_s),
            (Some(10.0), Some(11.25))
        );
        assert_eq!(r.cost_to_target_usd, Some(1.006 / 3600.0 * 11.25));
    }

    #[test]
    fn loss_deviation_is_relative_to_the_reference_over_the_epochs_both_have() {
        assert_eq!(
            loss_rel_dev(&[1.0, 0.55, 0.2], &[1.0, 0.5]),
            Some(0.10000000000000009)
        );
        assert_eq!(loss_rel_dev(&[0.75, f64::NAN], &[0.5, 0.5]), Some(0.5));
        assert_eq!(loss_rel_dev(&[], &[1.0]), None);
    }

    #[test]
    fn confusion_counts_are_written_per_true_class() {
        assert_eq!(
            confusion(&["noface", "face"], &[40, 3, 5, 52]).as_deref(),
            Some("noface: 40 3; face: 5 52")
        );
        assert_eq!(confusion(&["a", "b"], &[1, 2, 3]), None);
        assert_eq!(confusion(&[], &[]), None);
    }

    #[test]
    fn nothing_is_derived_from_what_was_not_measured() {
        let key = Key {
            backend: "wgpu",
            batch_size: 16,
            repeat: 0,
            compile_cache: Some("warm-disk"),
            peak_measured_tflops: Some(0.05),
            missing: None,
            flip: None,
            instance_gpu_match: None,
            layer_ops: "burn",
            loss_rel_dev: None,
            spread: Spread::one(16),
        };
        let mut o = outcome();
        o.epochs.truncate(1);
        o.steady_images = 0;
        let r = run_row(
            &context("g5.xlarge"),
            key,
            "t".into(),
            Some(&device("cpu")),
            &o,
        );
        assert_eq!(
            (
                r.epoch_s_median,
                r.cost_per_epoch_usd,
                r.images_per_s,
                r.mfu,
                r.mfu_measured
            ),
            (None, None, None, None, None)
        );
        o.epochs_to_target = None;
        let r = run_row(&context("g5.xlarge"), key, "t".into(), None, &o);
        assert_eq!(
            (r.epochs_to_target, r.time_to_target_s, r.cost_to_target_usd),
            (None, None, None)
        );
        let r = run_row(&context("local"), key, "t".into(), None, &outcome());
        assert_eq!((r.cost_usd, r.mfu, r.instance_gpu), (None, None, None));
    }
}
