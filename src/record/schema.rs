//! The row types of `runs.csv` and `epochs.csv`: plain serde structs with no other dependency,
//! so the reader in `report` and the writer in `run` share one definition.

use serde::{Deserialize, Serialize};

/// Bumped whenever `runs.csv` columns change, so `report` can read old files.
pub const SCHEMA_VERSION: u32 = 9;
pub const RUNS_FILE: &str = "runs.csv";
/// Where `run` writes and `report` reads when not told otherwise.
pub const DEFAULT_DIR: &str = "reports";
pub const EPOCHS_FILE: &str = "epochs.csv";
/// Telemetry readings over each run's timeline, written with `--keep-samples`.
pub const SAMPLES_FILE: &str = "samples.csv";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    /// The backend cannot run on this machine (no driver, no adapter); `error` says why.
    Unavailable,
    /// The run started and broke; `error` says how.
    Failed,
    /// The training loss became NaN or infinite.
    Diverged,
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unavailable => "unavailable",
            Status::Failed => "failed",
            Status::Diverged => "diverged",
            Status::Interrupted => "interrupted",
        }
    }
}

/// One row of `runs.csv`; the field order is the column order of the CSV contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
// Columns absent from an older file read as empty, so `report` takes every schema_version.
#[serde(default)]
pub struct RunRow {
    pub schema_version: u32,
    pub run_id: String,
    pub started_at: String,
    pub status: Status,
    pub error: Option<String>,
    pub instance: String,
    pub instance_source: String,
    pub provider: Option<String>,
    pub region: Option<String>,
    pub price_usd_per_hour: Option<f64>,
    pub price_kind: Option<String>,
    pub price_date: Option<String>,
    pub backend: String,
    pub device_name: Option<String>,
    pub device_kind: Option<String>,
    pub driver: Option<String>,
    pub workload: String,
    pub model: String,
    pub params: Option<usize>,
    pub flops_per_image: Option<u64>,
    pub dataset: Option<String>,
    pub dataset_sha256: Option<String>,
    pub n_train: Option<usize>,
    pub n_val: Option<usize>,
    pub batch_size: usize,
    pub epochs: usize,
    pub repeat: usize,
    pub seed: u64,
    pub device_init_s: Option<f64>,
    pub data_load_s: Option<f64>,
    pub model_init_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub train_s: Option<f64>,
    pub eval_s: Option<f64>,
    pub init_s: Option<f64>,
    pub total_s: Option<f64>,
    pub epoch_s_median: Option<f64>,
    pub images_per_s: Option<f64>,
    pub achieved_tflops: Option<f64>,
    pub mfu: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_metric_name: Option<String>,
    pub val_metric: Option<f64>,
    pub cost_usd: Option<f64>,
    pub cost_per_epoch_usd: Option<f64>,
    pub gpubench_version: String,
    pub git_sha: Option<String>,
    pub burn_version: String,
    pub os: Option<String>,
    pub cpu_model: Option<String>,
    pub cpu_cores: Option<usize>,
    pub mem_gib: Option<f64>,
    // Schema 2: the catalog's GPU for this instance and its spec peak (the mfu denominator).
    pub instance_gpu: Option<String>,
    pub gpu_peak_fp32_tflops: Option<f64>,
    // Schema 3: the peak this device measured (`gpubench probe`'s GEMM) and mfu against it;
    // images skipped by `--skip-bad`; whether compiled kernels came from a warm on-disk cache;
    // a file the run wrote next to the CSV (e.g. the keypoint overlay picture).
    pub peak_measured_tflops: Option<f64>,
    pub mfu_measured: Option<f64>,
    pub n_skipped: Option<usize>,
    pub compile_cache: Option<String>,
    pub artifact: Option<String>,
    // Schema 4: seconds of `train_s` the training loop waited for its next batch (gathered on
    // a separate thread) and spent handing it to the device: the harness's own overhead.
    pub input_wait_s: Option<f64>,
    // Schema 5: what else tells configurations apart. A stable id of the machine (hashed
    // machine-id), so two `local` machines are two; the data options (`--missing` for real
    // keypoints data, `--flip` for a workload that mirrors); whether the GPU that ran is the
    // catalog's GPU for the named instance (empty off a GPU or without a catalog GPU); and a
    // classifier's confusion counts, `true class: counts predicted as each class; ...`.
    pub host_id: Option<String>,
    pub missing: Option<String>,
    pub flip: Option<bool>,
    pub instance_gpu_match: Option<bool>,
    pub val_confusion: Option<String>,
    // Schema 6: one start and the time to a quality. The first 16 hex digits of the SHA-256
    // of the initial weights (drawn on the host, so equal on every backend of a run id); whose
    // kernels the layers ran on (`gpubench` or `burn`); the largest relative difference of the
    // per-epoch training loss from the run's cpu reference (empty on the reference itself and
    // when none ran); the validation metric trained to, the first epoch that reached it, the
    // training seconds through that epoch without and with device and model init, and what
    // those seconds with init cost. Empty when the target was not reached.
    pub init_sha256: Option<String>,
    pub layer_ops: Option<String>,
    pub loss_rel_dev: Option<f64>,
    pub target: Option<f64>,
    pub epochs_to_target: Option<usize>,
    pub time_to_target_s: Option<f64>,
    pub time_to_target_init_s: Option<f64>,
    pub cost_to_target_usd: Option<f64>,
    // Schema 7: data-parallel training. The replicas per node (one per device) and the nodes;
    // which node wrote the row (rank 0 writes a run's row; another rank only a row for a run
    // that did not end ok there); images per step over all replicas; `weak` when the batch
    // size is per device (the global batch grows with the replicas), `strong` when it is the
    // global batch (`--global-batch`); seconds of the steady steps spent in the gradient
    // all-reduce (device-synced, inside train_s; empty without one); GPUs the run trained on
    // (0 on the cpu and on a CPU adapter such as lavapipe) and GPUs the instance bills for.
    pub devices: Option<usize>,
    pub nodes: Option<usize>,
    pub node_rank: Option<usize>,
    pub global_batch: Option<usize>,
    pub scaling: Option<String>,
    pub comm_s: Option<f64>,
    pub gpus_used: Option<usize>,
    pub gpu_count: Option<usize>,
    // Schema 8: telemetry of the devices that trained (NVML on NVIDIA GPUs, RAPL on the CPU's
    // packages). What was read, or `none: ` and why; `counter` (energy counter deltas) or
    // `power-integral` (power readings integrated over time); joules of the warm-up step, of
    // the steady training (the same span as train_s) and of the whole run; steady joules per
    // steady image; mean power over the steady training (its joules over its seconds) and the
    // largest power read in the run (all devices together); the SM clock's mean over the
    // steady training; the hottest and fullest a device got in the run; and the reasons the
    // clocks were held down during training (warm-up and steady), `;`-separated names, `none`
    // when the device said none. Empty where nothing was read.
    pub energy_source: Option<String>,
    pub energy_method: Option<String>,
    pub warmup_energy_j: Option<f64>,
    pub train_energy_j: Option<f64>,
    pub total_energy_j: Option<f64>,
    pub joules_per_image: Option<f64>,
    pub power_mean_w: Option<f64>,
    pub power_max_w: Option<f64>,
    pub clock_sm_mhz_mean: Option<f64>,
    pub temp_max_c: Option<f64>,
    pub mem_used_max_mib: Option<f64>,
    pub throttle_reasons: Option<String>,
    // Schema 9: the availability zone the cloud's metadata service named (`--instance auto`).
    pub zone: Option<String>,
}

/// One row of `epochs.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    pub run_id: String,
    pub workload: String,
    pub backend: String,
    pub batch_size: usize,
    pub repeat: usize,
    pub epoch: usize,
    /// Training seconds of the epoch (the first includes the warm-up step; eval excluded).
    pub seconds: f64,
    pub train_loss: f64,
    pub val_metric: Option<f64>,
    /// Replicas per node; absent in files written before data-parallel training (one).
    #[serde(default = "one")]
    pub devices: usize,
}

/// One row of `samples.csv`: a reading of a run's devices together, at `t_s` seconds after the
/// run began, in `phase` (`device_init`, `data_load`, `model_init`, `warmup`, `train`, `eval`,
/// `picture`; `end` after the last phase, or `unfinished` for the phase a failed run was in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleRow {
    pub run_id: String,
    pub workload: String,
    pub backend: String,
    pub batch_size: usize,
    pub repeat: usize,
    pub devices: usize,
    pub t_s: f64,
    pub phase: String,
    /// All devices together.
    pub power_w: Option<f64>,
    /// Since the run began, all devices together.
    pub energy_j: Option<f64>,
    pub sm_clock_mhz: Option<f64>,
    pub temp_c: Option<f64>,
    pub mem_used_mib: Option<f64>,
    pub throttle_reasons: Option<String>,
}

fn one() -> usize {
    1
}
