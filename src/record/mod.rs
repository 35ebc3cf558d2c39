//! The CSV contract between `run` and `report`: `runs.csv` (one row per run) and `epochs.csv`
//! (one row per epoch). Rows are appended whole, one write each; a value not measured is empty.
//! This module is the contract alone: it knows no backend, workload or training type, so the
//! writer (`run`) and the reader (`report`) share it without depending on each other.

mod schema;
mod summary;

pub use schema::{DEFAULT_DIR, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, SCHEMA_VERSION, Status};
pub use summary::print_summary;

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::error::input;

/// The header line a file of `T` rows starts with.
pub fn header<T: Serialize + Default>() -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(T::default()).expect("a default row serializes");
    let bytes = w.into_inner().expect("writing to memory");
    String::from_utf8_lossy(&bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Checks that `path` is absent, empty, or starts with the header of `T`, so rows of another
/// schema are never appended to it. Run before any work so a mismatch leaves nothing written.
pub fn check_header<T: Serialize + Default>(path: &Path) -> Result<()> {
    let Ok(file) = fs::File::open(path) else {
        return Ok(());
    };
    let mut first = String::new();
    BufReader::new(file)
        .read_line(&mut first)
        .with_context(|| format!("reading {}", path.display()))?;
    let first = first.trim_end_matches(['\r', '\n']);
    if !first.is_empty() && first != header::<T>() {
        return input(format!(
            "{}:1: the header does not match this gpubench's columns (schema_version {SCHEMA_VERSION}); \
             write to another --out directory",
            path.display()
        ));
    }
    Ok(())
}

/// Appends one row to `path` with a single write (the header too when the file is new).
pub fn append<T: Serialize>(path: &Path, row: &T) -> Result<()> {
    let is_new = fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true);
    let mut w = csv::WriterBuilder::new()
        .has_headers(is_new)
        .from_writer(Vec::new());
    w.serialize(row)?;
    let bytes = w.into_inner().context("serializing a row")?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(&bytes)
        .with_context(|| format!("appending to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column list of DESIGN.md, the contract `report` reads, plus the columns later schemas appended.
    const CONTRACT: &str = "schema_version,run_id,started_at,status,error,\
        instance,instance_source,provider,region,price_usd_per_hour,price_kind,price_date,\
        backend,device_name,device_kind,driver,\
        workload,model,params,flops_per_image,\
        dataset,dataset_sha256,n_train,n_val,batch_size,epochs,repeat,seed,\
        device_init_s,data_load_s,model_init_s,warmup_s,train_s,eval_s,init_s,total_s,\
        epoch_s_median,images_per_s,achieved_tflops,mfu,\
        final_train_loss,val_loss,val_metric_name,val_metric,\
        cost_usd,cost_per_epoch_usd,\
        gpubench_version,git_sha,burn_version,os,cpu_model,cpu_cores,mem_gib,\
        instance_gpu,gpu_peak_fp32_tflops,\
        peak_measured_tflops,mfu_measured,n_skipped,compile_cache,artifact,\
        input_wait_s,\
        host_id,missing,flip,instance_gpu_match,val_confusion,\
        init_sha256,layer_ops,loss_rel_dev,target,epochs_to_target,time_to_target_s,\
        time_to_target_init_s,cost_to_target_usd,\
        devices,nodes,node_rank,global_batch,scaling,comm_s,gpus_used,gpu_count";

    #[test]
    fn runs_header_is_the_contract() {
        assert_eq!(header::<RunRow>(), CONTRACT);
        assert_eq!(
            header::<EpochRow>(),
            "run_id,workload,backend,batch_size,repeat,epoch,seconds,train_loss,val_metric,devices"
        );
    }

    #[test]
    fn rows_append_whole_with_one_header_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RUNS_FILE);
        let a = RunRow {
            run_id: "r1".into(),
            error: Some("a reason, with a comma\nand a newline".into()),
            val_metric: Some(0.125),
            ..RunRow::default()
        };
        let b = RunRow {
            run_id: "r2".into(),
            status: Status::Unavailable,
            ..RunRow::default()
        };
        append(&path, &a).unwrap();
        append(&path, &b).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("schema_version").count(), 1);
        let back: Vec<RunRow> = csv::Reader::from_path(&path)
            .unwrap()
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, vec![a, b]);
        // Unmeasured values are empty fields, not zeros.
        assert!(
            text.lines().last().unwrap().contains(",unavailable,,"),
            "{text}"
        );
    }

    #[test]
    fn a_file_of_another_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RUNS_FILE);
        check_header::<RunRow>(&path).unwrap(); // absent is fine
        fs::write(&path, "run_id,other\n1,2\n").unwrap();
        let err = check_header::<RunRow>(&path).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(err.to_string().contains("runs.csv:1"), "{err}");
        fs::write(&path, format!("{}\r\n", header::<RunRow>())).unwrap();
        check_header::<RunRow>(&path).unwrap();
    }
}
