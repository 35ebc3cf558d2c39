//! The descriptive side of a run: the params (where, on what, with which settings and prices
//! it ran) and the tags (which row and build it was, how it ended). Keys are the CSV's column
//! names (tags under `gpubench.`); an empty field is left out.

use crate::record::RunRow;

use super::batch::{MAX_PARAM_VALUE, MAX_TAG_VALUE, truncate};

fn text<T: ToString>(out: &mut Vec<(String, String)>, key: &str, value: Option<T>, max: usize) {
    if let Some(v) = value.map(|v| v.to_string()).filter(|v| !v.is_empty()) {
        out.push((key.to_string(), truncate(&v, max)));
    }
}

/// What the run was: where, on what, with which settings and prices.
pub fn params(r: &RunRow) -> Vec<(String, String)> {
    let mut p = Vec::new();
    let max = MAX_PARAM_VALUE;
    text(&mut p, "instance", Some(&r.instance), max);
    text(&mut p, "instance_source", Some(&r.instance_source), max);
    text(&mut p, "provider", r.provider.as_ref(), max);
    text(&mut p, "region", r.region.as_ref(), max);
    text(&mut p, "zone", r.zone.as_ref(), max);
    text(&mut p, "host_id", r.host_id.as_ref(), max);
    text(&mut p, "backend", Some(&r.backend), max);
    text(&mut p, "device_name", r.device_name.as_ref(), max);
    text(&mut p, "device_kind", r.device_kind.as_ref(), max);
    text(&mut p, "driver", r.driver.as_ref(), max);
    text(&mut p, "workload", Some(&r.workload), max);
    text(&mut p, "model", Some(&r.model), max);
    text(&mut p, "params", r.params, max);
    text(&mut p, "flops_per_image", r.flops_per_image, max);
    text(&mut p, "layer_ops", r.layer_ops.as_ref(), max);
    text(&mut p, "dataset", r.dataset.as_ref(), max);
    text(&mut p, "dataset_sha256", r.dataset_sha256.as_ref(), max);
    text(&mut p, "missing", r.missing.as_ref(), max);
    text(&mut p, "flip", r.flip, max);
    text(&mut p, "n_train", r.n_train, max);
    text(&mut p, "n_val", r.n_val, max);
    text(&mut p, "batch_size", Some(r.batch_size), max);
    text(&mut p, "epochs", Some(r.epochs), max);
    text(&mut p, "repeat", Some(r.repeat), max);
    text(&mut p, "seed", Some(r.seed), max);
    text(&mut p, "init_sha256", r.init_sha256.as_ref(), max);
    text(&mut p, "target", r.target, max);
    text(&mut p, "val_metric_name", r.val_metric_name.as_ref(), max);
    text(&mut p, "devices", r.devices, max);
    text(&mut p, "nodes", r.nodes, max);
    text(&mut p, "node_rank", r.node_rank, max);
    text(&mut p, "global_batch", r.global_batch, max);
    text(&mut p, "scaling", r.scaling.as_ref(), max);
    text(&mut p, "gpus_used", r.gpus_used, max);
    text(&mut p, "gpu_count", r.gpu_count, max);
    text(&mut p, "price_usd_per_hour", r.price_usd_per_hour, max);
    text(&mut p, "price_kind", r.price_kind.as_ref(), max);
    text(&mut p, "price_date", r.price_date.as_ref(), max);
    text(&mut p, "instance_gpu", r.instance_gpu.as_ref(), max);
    text(&mut p, "instance_gpu_match", r.instance_gpu_match, max);
    text(&mut p, "gpu_peak_fp32_tflops", r.gpu_peak_fp32_tflops, max);
    text(&mut p, "compile_cache", r.compile_cache.as_ref(), max);
    text(&mut p, "energy_source", r.energy_source.as_ref(), max);
    text(&mut p, "energy_method", r.energy_method.as_ref(), max);
    text(&mut p, "os", r.os.as_ref(), max);
    text(&mut p, "cpu_model", r.cpu_model.as_ref(), max);
    text(&mut p, "cpu_cores", r.cpu_cores, max);
    text(&mut p, "mem_gib", r.mem_gib, max);
    text(&mut p, "schema_version", Some(r.schema_version), max);
    p
}

/// Which row and build this was, and how it ended. (The row key goes in with `runs/create`,
/// so even a run cut off before its first batch is found again.)
pub fn tags(r: &RunRow) -> Vec<(String, String)> {
    let mut t = Vec::new();
    let max = MAX_TAG_VALUE;
    text(&mut t, "gpubench.run_id", Some(&r.run_id), max);
    text(&mut t, "gpubench.started_at", Some(&r.started_at), max);
    text(&mut t, "gpubench.status", Some(r.status.as_str()), max);
    text(&mut t, "gpubench.error", r.error.as_ref(), max);
    text(&mut t, "gpubench.version", Some(&r.gpubench_version), max);
    text(&mut t, "gpubench.git_sha", r.git_sha.as_ref(), max);
    text(&mut t, "mlflow.source.git.commit", r.git_sha.as_ref(), max);
    text(&mut t, "gpubench.burn_version", Some(&r.burn_version), max);
    text(&mut t, "gpubench.artifact", r.artifact.as_ref(), max);
    text(
        &mut t,
        "gpubench.val_confusion",
        r.val_confusion.as_ref(),
        max,
    );
    text(
        &mut t,
        "gpubench.throttle_reasons",
        r.throttle_reasons.as_ref(),
        max,
    );
    t
}
