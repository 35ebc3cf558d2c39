//! The CSV contract between `run` and `report`: `runs.csv` (one row per run) and `epochs.csv`
//! (one row per epoch). Rows are appended whole, one write each; a value not measured is empty.
//! This module is the contract alone: it knows no backend, workload or training type, so the
//! writer (`run`) and the reader (`report`) share it without depending on each other.

mod repair;
mod schema;
mod summary;

pub use repair::torn_path;
pub use schema::{
    DEFAULT_DIR, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, SAMPLES_FILE, SCHEMA_VERSION, SampleRow,
    Status,
};
pub use summary::print_summary;

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::error::{InputError, input};

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

/// The longest header line read: a gpubench header is under 2 KiB, and a special file (a
/// symbolic link to `/dev/zero`) must not be read without end.
const HEADER_LIMIT: u64 = 64 << 10;

/// The first line of `path` (without its line break) and whether it ended in one; `None` for a
/// file that is absent.
fn first_line(path: &Path) -> Result<Option<(String, bool)>> {
    let file = match fs::File::open(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        other => {
            other.map_err(|e| InputError(format!("{}: cannot open it: {e}", path.display())))?
        }
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return input(format!(
            "{}: not a regular file; gpubench appends its rows to a plain file",
            path.display()
        ));
    }
    let mut first = Vec::new();
    BufReader::new(file)
        .take(HEADER_LIMIT)
        .read_until(b'\n', &mut first)
        .with_context(|| format!("reading {}", path.display()))?;
    let ended = first.ends_with(b"\n");
    let text = String::from_utf8_lossy(&first);
    Ok(Some((
        text.trim_end_matches(['\r', '\n']).to_string(),
        ended,
    )))
}

/// Checks that `path` is absent, empty, or starts with the header of `T`, so rows of another
/// schema are never appended to it. Run before any work so a mismatch leaves nothing written;
/// [`append`] checks again under its lock.
pub fn check_header<T: Serialize + Default>(path: &Path) -> Result<()> {
    match first_line(path)? {
        // A header cut short is a torn first write, which `append` moves aside.
        Some((first, true)) if !first.is_empty() && first != header::<T>() => input(format!(
            "{}:1: the header does not match this gpubench's columns (schema_version {SCHEMA_VERSION}); \
             write to another --out directory",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// Checks that rows can be written into `dir` before any GPU time is spent: it is created if
/// absent, and a probe file is written, synced and removed (a read-only or full disk fails here).
pub fn check_writable(dir: &Path) -> Result<()> {
    let refuse = |what: &str, e: std::io::Error| -> Result<()> {
        input(format!("--out {}: {what}: {e}", dir.display()))
    };
    if let Err(e) = fs::create_dir_all(dir) {
        return refuse("cannot create it", e);
    }
    let probe = dir.join(format!(".gpubench-write-check-{}", std::process::id()));
    let written = fs::File::create(&probe)
        .and_then(|mut f| f.write_all(b"gpubench\n").and_then(|()| f.sync_all()));
    let _ = fs::remove_file(&probe);
    match written {
        Err(e) => refuse("cannot write into it", e),
        Ok(()) => Ok(()),
    }
}

/// At most this many rows that could not be written are shown on stderr (a run's epochs, not
/// its thousands of telemetry samples).
const SHOWN: usize = 100;

/// Appends one row to `path`, whole: under an exclusive lock (another gpubench may append to
/// the same file), after the header is checked and a torn last row (a killed writer, a full
/// disk, a cut copy) is moved aside to `PATH.torn`; the header comes first when the file is new.
/// A write that fails half-way is cut back off, and the row is synced before the lock goes.
pub fn append<T: Serialize + Default>(path: &Path, row: &T) -> Result<()> {
    append_all(path, std::slice::from_ref(row))
}

/// Appends `rows` as [`append`] appends one: in one write and one sync, all or none.
pub fn append_all<T: Serialize + Default>(path: &Path, rows: &[T]) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    check_header::<T>(path)?;
    let len = repair::torn_tail(path, &mut file)?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(len == 0)
        .from_writer(Vec::new());
    for row in rows {
        w.serialize(row)?;
    }
    let bytes = w.into_inner().context("serializing a row")?;
    let written = file.write_all(&bytes).and_then(|()| file.sync_data());
    if let Err(e) = written {
        // Nothing half-written stays behind for the next append to find, and what was
        // measured is still said where the user sees it.
        let _ = file.set_len(len);
        if rows.len() <= SHOWN {
            eprintln!(
                "the row{} that could not be appended to {}:\n{}",
                if rows.len() == 1 { "" } else { "s" },
                path.display(),
                String::from_utf8_lossy(&bytes).trim_end()
            );
        }
        return Err(e).with_context(|| format!("appending to {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `path`, read strictly: a torn or interleaved row fails the read.
    fn read_back(path: &Path) -> Vec<RunRow> {
        csv::Reader::from_path(path)
            .unwrap()
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap()
    }

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
        devices,nodes,node_rank,global_batch,scaling,comm_s,gpus_used,gpu_count,\
        energy_source,energy_method,warmup_energy_j,train_energy_j,total_energy_j,\
        joules_per_image,power_mean_w,power_max_w,clock_sm_mhz_mean,temp_max_c,\
        mem_used_max_mib,throttle_reasons,zone";

    #[test]
    fn runs_header_is_the_contract() {
        assert_eq!(header::<RunRow>(), CONTRACT);
        assert_eq!(
            header::<EpochRow>(),
            "run_id,workload,backend,batch_size,repeat,epoch,seconds,train_loss,val_metric,devices"
        );
        assert_eq!(
            header::<SampleRow>(),
            "run_id,workload,backend,batch_size,repeat,devices,t_s,phase,power_w,energy_j,\
             sm_clock_mhz,temp_c,mem_used_mib,throttle_reasons"
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
        let back = read_back(&path);
        assert_eq!(back, vec![a, b]);
        // Unmeasured values are empty fields, not zeros.
        assert!(
            text.lines().last().unwrap().contains(",unavailable,,"),
            "{text}"
        );
    }

    #[test]
    fn a_torn_last_row_is_moved_aside_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RUNS_FILE);
        let a = RunRow {
            run_id: "a".into(),
            ..RunRow::default()
        };
        append(&path, &a).unwrap();
        let whole = fs::read_to_string(&path).unwrap();
        // A row cut off by a full disk or a killed writer.
        fs::write(
            &path,
            format!("{whole}{}", &whole[whole.len() - 30..whole.len() - 1]),
        )
        .unwrap();
        append(&path, &a).unwrap();
        let back = read_back(&path);
        assert_eq!(back.len(), 2);
        let torn = fs::read_to_string(torn_path(&path)).unwrap();
        assert_eq!(
            torn,
            format!("{}\n", &whole[whole.len() - 30..whole.len() - 1])
        );
    }

    #[test]
    fn a_special_file_is_refused_not_read_without_end() {
        // A link to /dev/zero would be read forever looking for the header's line break.
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(EPOCHS_FILE)).unwrap();
        let err = check_header::<EpochRow>(&dir.path().join(EPOCHS_FILE)).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        std::os::unix::fs::symlink("/dev/full", dir.path().join(RUNS_FILE)).unwrap();
        let err = check_header::<RunRow>(&dir.path().join(RUNS_FILE)).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("not a regular file; gpubench appends its rows to a plain file"),
            "{err}"
        );
        assert_eq!(crate::error::exit_code(&err), 2);
    }

    #[test]
    fn two_writers_never_interleave_and_write_one_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RUNS_FILE);
        let long = "x".repeat(64 << 10); // more than one write of a pipe's size
        std::thread::scope(|s| {
            for t in 0..4 {
                let (path, long) = (&path, &long);
                s.spawn(move || {
                    for i in 0..25 {
                        let row = RunRow {
                            run_id: format!("{t}-{i}"),
                            error: Some(long.clone()),
                            ..RunRow::default()
                        };
                        append(path, &row).unwrap();
                    }
                });
            }
        });
        let back = read_back(&path);
        assert_eq!(back.len(), 100);
        assert!(
            back.iter()
                .all(|r| r.error.as_deref() == Some(long.as_str()))
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
