//! A `runs.csv` row (with its `epochs.csv` rows) as an MLflow run: its name, the tag that
//! finds it again, its status and times, and its metrics (the params and tags are
//! [`describe`](super::describe)'s). Keys are the CSV's column names; a field the row leaves
//! empty (not measured, not known) is left out, never logged as 0.

use crate::record::{EpochRow, RunRow, Status};

use super::batch::Metric;
use super::describe::{params, tags};

/// The tag holding [`row_key`]: how a later export finds the run it made for a row.
pub const KEY_TAG: &str = "gpubench.row_key";

/// Everything the export sends for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub key: String,
    pub name: String,
    /// Milliseconds since the Unix epoch: the row's `started_at`, and that plus `total_s`.
    pub start_ms: i64,
    pub end_ms: i64,
    /// The run's final MLflow status.
    pub status: &'static str,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub metrics: Vec<Metric>,
}

/// The row's identity as the report knows it ([`crate::report::run_id`]: run_id, instance,
/// host_id, workload, backend, batch_size, repeat, devices, node_rank), as a JSON array.
pub fn row_key(r: &RunRow) -> String {
    serde_json::json!(crate::report::run_id(r)).to_string()
}

/// `keypoints cpu local b16 r0`, with ` x4` for 4 devices and ` rank1` for node 1's row.
pub fn run_name(r: &RunRow) -> String {
    let mut name = format!(
        "{} {} {} b{} r{}",
        r.workload, r.backend, r.instance, r.batch_size, r.repeat
    );
    if let Some(d) = r.devices.filter(|&d| d > 1) {
        name.push_str(&format!(" x{d}"));
    }
    if let Some(n) = r.node_rank.filter(|&n| n > 0) {
        name.push_str(&format!(" rank{n}"));
    }
    name
}

/// ok ends FINISHED, interrupted KILLED, and failed, diverged and unavailable FAILED.
pub fn mlflow_status(s: Status) -> &'static str {
    match s {
        Status::Ok => "FINISHED",
        Status::Interrupted => "KILLED",
        Status::Failed | Status::Diverged | Status::Unavailable => "FAILED",
    }
}

/// The run for `r`; `epochs` are its epoch rows (any order), `now_ms` the start for a row
/// without a readable `started_at`.
pub fn spec(r: &RunRow, epochs: &[&EpochRow], now_ms: i64) -> RunSpec {
    let start_ms = chrono::DateTime::parse_from_rfc3339(&r.started_at)
        .map(|t| t.timestamp_millis())
        .unwrap_or(now_ms);
    let end_ms = start_ms
        + r.total_s
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(0, |s| (s * 1000.0).round() as i64);
    RunSpec {
        key: row_key(r),
        name: run_name(r),
        start_ms,
        end_ms,
        status: mlflow_status(r.status),
        params: params(r),
        tags: tags(r),
        metrics: metrics(r, epochs, start_ms),
    }
}

/// What the run measured, at step 0 and the row's start time; then each epoch's training
/// loss, seconds and validation metric at step = epoch. NaN and infinities (a diverged loss)
/// are left out: MLflow's JSON cannot carry them.
pub fn metrics(r: &RunRow, epochs: &[&EpochRow], timestamp: i64) -> Vec<Metric> {
    let fields: [(&str, Option<f64>); 36] = [
        ("device_init_s", r.device_init_s),
        ("data_load_s", r.data_load_s),
        ("model_init_s", r.model_init_s),
        ("warmup_s", r.warmup_s),
        ("train_s", r.train_s),
        ("eval_s", r.eval_s),
        ("init_s", r.init_s),
        ("total_s", r.total_s),
        ("epoch_s_median", r.epoch_s_median),
        ("input_wait_s", r.input_wait_s),
        ("comm_s", r.comm_s),
        ("images_per_s", r.images_per_s),
        ("achieved_tflops", r.achieved_tflops),
        ("mfu", r.mfu),
        ("peak_measured_tflops", r.peak_measured_tflops),
        ("mfu_measured", r.mfu_measured),
        ("final_train_loss", r.final_train_loss),
        ("val_loss", r.val_loss),
        ("val_metric", r.val_metric),
        ("loss_rel_dev", r.loss_rel_dev),
        ("cost_usd", r.cost_usd),
        ("cost_per_epoch_usd", r.cost_per_epoch_usd),
        ("epochs_to_target", r.epochs_to_target.map(|e| e as f64)),
        ("time_to_target_s", r.time_to_target_s),
        ("time_to_target_init_s", r.time_to_target_init_s),
        ("cost_to_target_usd", r.cost_to_target_usd),
        ("n_skipped", r.n_skipped.map(|n| n as f64)),
        ("warmup_energy_j", r.warmup_energy_j),
        ("train_energy_j", r.train_energy_j),
        ("total_energy_j", r.total_energy_j),
        ("joules_per_image", r.joules_per_image),
        ("power_mean_w", r.power_mean_w),
        ("power_max_w", r.power_max_w),
        ("clock_sm_mhz_mean", r.clock_sm_mhz_mean),
        ("temp_max_c", r.temp_max_c),
        ("mem_used_max_mib", r.mem_used_max_mib),
    ];
    let point = |key: &str, value: f64, step: usize| Metric {
        key: key.to_string(),
        value,
        timestamp,
        step: step as i64,
    };
    let mut m: Vec<Metric> = fields
        .iter()
        .filter_map(|(k, v)| v.filter(|v| v.is_finite()).map(|v| point(k, v, 0)))
        .collect();
    let mut epochs = epochs.to_vec();
    epochs.sort_by_key(|e| e.epoch);
    for e in epochs {
        let per_epoch = [
            ("epoch/train_loss", Some(e.train_loss)),
            ("epoch/seconds", Some(e.seconds)),
            ("epoch/val_metric", e.val_metric),
        ];
        for (k, v) in per_epoch {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                m.push(point(k, v, e.epoch));
            }
        }
    }
    m
}

/// Whether `e` is one of `r`'s epochs.
pub fn epoch_of(e: &EpochRow, r: &RunRow) -> bool {
    e.run_id == r.run_id
        && e.workload == r.workload
        && e.backend == r.backend
        && e.batch_size == r.batch_size
        && e.repeat == r.repeat
        && e.devices == r.devices.unwrap_or(1)
}

#[cfg(test)]
mod tests;
