//! `gpubench export mlflow` against a real MLflow tracking server (target/mlflow-venv, pinned
//! by scripts/test.sh; sqlite backend) on 127.0.0.1: the rows of a real `gpubench run`
//! exported, read back through the REST API and compared value by value with the CSV; a
//! second export adds nothing; a run an earlier export left unfinished is replaced; a server
//! that is down or fails mid-export is an error (exit 1) that claims nothing.

mod common;
mod mlflow_server;

use std::path::Path;
use std::process::Command;

use common::{epochs, runs, text};
use gpubench::record::RunRow;
use mlflow_server::{Tracking, export, fake_mlflow, int, mlflow_or_skip, num, pairs, stdout};
use serde_json::{Value, json};

/// The columns that are metrics, as the README lists them.
#[rustfmt::skip]
const METRICS: &[&str] = &[
    "device_init_s", "data_load_s", "model_init_s", "warmup_s", "train_s", "eval_s", "init_s",
    "total_s", "epoch_s_median", "input_wait_s", "comm_s", "images_per_s", "achieved_tflops",
    "mfu", "peak_measured_tflops", "mfu_measured", "final_train_loss", "val_loss", "val_metric",
    "loss_rel_dev", "cost_usd", "cost_per_epoch_usd", "epochs_to_target", "time_to_target_s",
    "time_to_target_init_s", "cost_to_target_usd", "n_skipped", "warmup_energy_j",
    "train_energy_j", "total_energy_j", "joules_per_image", "power_mean_w", "power_max_w",
    "clock_sm_mhz_mean", "temp_max_c", "mem_used_max_mib",
];

/// Checks one exported run against its row: every param is the CSV column of its name, every
/// metric too, each measured metric column is there and no empty one is.
fn check_run(run: &Value, row: &RunRow) {
    let csv = serde_json::to_value(row).unwrap();
    let name = run["info"]["run_name"].as_str().unwrap();
    let params = pairs(&run["data"]["params"]);
    for required in [
        "instance",
        "backend",
        "device_name",
        "workload",
        "model",
        "batch_size",
        "devices",
        "price_usd_per_hour",
    ] {
        assert!(
            params.contains_key(required),
            "{name}: no param {required}: {params:?}"
        );
    }
    assert_eq!(params["batch_size"], json!(row.batch_size.to_string()));
    assert_eq!(params["price_usd_per_hour"], json!("0.35"));
    for (k, v) in &params {
        let v = v.as_str().unwrap();
        match &csv[k] {
            Value::String(s) => assert_eq!(v, s, "{name}: param {k}"),
            Value::Number(n) => assert_eq!(v.parse::<f64>().ok(), n.as_f64(), "{name}: param {k}"),
            Value::Bool(b) => assert_eq!(v, b.to_string(), "{name}: param {k}"),
            other => panic!("{name}: param {k}={v:?} but the row has {other}"),
        }
    }
    let metrics = pairs(&run["data"]["metrics"]);
    for (k, v) in &metrics {
        if !k.starts_with("epoch/") {
            assert!(
                METRICS.contains(&k.as_str()),
                "{name}: unexpected metric {k}"
            );
            assert_eq!(Some(num(v)), csv[k].as_f64(), "{name}: metric {k}");
        }
    }
    for k in METRICS {
        assert_eq!(
            metrics.contains_key(*k),
            !csv[k].is_null(),
            "{name}: metric {k} vs {}",
            csv[k]
        );
    }
    for k in [
        "train_s",
        "images_per_s",
        "cost_usd",
        "total_s",
        "val_metric",
    ] {
        assert!(metrics.contains_key(k), "{name}: {k} not measured?");
    }
    let tags = pairs(&run["data"]["tags"]);
    assert_eq!(tags["gpubench.run_id"], json!(row.run_id));
    assert_eq!(tags["gpubench.burn_version"], json!(row.burn_version));
    assert_eq!(tags["gpubench.status"], json!("ok"));
    assert_eq!(
        tags.get("gpubench.git_sha").and_then(Value::as_str),
        row.git_sha.as_deref()
    );
    assert_eq!(run["info"]["status"], "FINISHED");
    let start = chrono::DateTime::parse_from_rfc3339(&row.started_at).unwrap();
    assert_eq!(
        Some(int(&run["info"]["start_time"])),
        Some(start.timestamp_millis())
    );
    let want = format!("keypoints cpu local b{} r0", row.batch_size);
    assert_eq!(name, want);
}

fn run_of<'a>(runs: &'a [Value], row: &RunRow) -> &'a Value {
    let found: Vec<&Value> = runs
        .iter()
        .filter(|r| {
            let tags = pairs(&r["data"]["tags"]);
            let params = pairs(&r["data"]["params"]);
            tags["gpubench.run_id"] == json!(row.run_id)
                && params.get("batch_size") == Some(&json!(row.batch_size.to_string()))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "runs for batch {}: {found:?}",
        row.batch_size
    );
    found[0]
}

#[test]
fn rows_export_as_runs_with_their_values_once_and_a_torn_run_is_replaced() {
    let Some(exe) = mlflow_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let rows_dir = tmp.path().join("rows");
    let o = Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args([
            "run",
            "--instance",
            "local",
            "--price",
            "0.35",
            "--backend",
            "cpu",
        ])
        .args([
            "--workload",
            "keypoints",
            "--epochs",
            "2",
            "--synthetic",
            "64",
            "--batch-size",
            "8,16",
        ])
        .arg("--out")
        .arg(&rows_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (rows, epoch_rows) = (runs(&rows_dir), epochs(&rows_dir));
    assert_eq!((rows.len(), epoch_rows.len()), (2, 4));

    let t = Tracking::start(&exe, tmp.path());
    let o = export(&t.uri, &rows_dir);
    assert!(o.status.success(), "{}", text(&o));
    let exp = t.experiment_id("bench");
    let summary = format!(
        "exported 2 runs (0 already there) to {} experiment bench (id {exp})",
        t.uri
    );
    assert!(stdout(&o).contains(&summary), "{}", text(&o));
    let found = t.runs(&exp);
    assert_eq!(found.len(), 2);
    for row in &rows {
        let run = run_of(&found, row);
        check_run(run, row);
        let id = run["info"]["run_id"].as_str().unwrap();
        let mine = epoch_rows.iter().filter(|e| e.batch_size == row.batch_size);
        let losses: Vec<(i64, f64)> = mine
            .clone()
            .map(|e| (e.epoch as i64, e.train_loss))
            .collect();
        assert_eq!(t.history(id, "epoch/train_loss"), losses);
        let vals: Vec<(i64, f64)> = mine
            .filter_map(|e| Some((e.epoch as i64, e.val_metric?)))
            .collect();
        assert_eq!(t.history(id, "epoch/val_metric"), vals);
    }

    // Again: nothing added, the same runs.
    let ids = |runs: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = runs
            .iter()
            .map(|r| r["info"]["run_id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let o = export(&t.uri, &rows_dir);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("exported 0 runs (2 already there)"),
        "{}",
        text(&o)
    );
    assert_eq!(ids(&t.runs(&exp)), ids(&found));

    // An export that died after creating the first row's run and logging part of it: the run is
    // still RUNNING with a wrong half. The next export deletes it and makes the run again.
    let first = run_of(&found, &rows[0]);
    let first_id = first["info"]["run_id"].as_str().unwrap();
    t.post("runs/delete", json!({ "run_id": first_id }));
    let key = pairs(&first["data"]["tags"])["gpubench.row_key"].clone();
    let torn = t.post(
        "runs/create",
        json!({ "experiment_id": exp, "tags": [{ "key": "gpubench.row_key", "value": key }] }),
    );
    let torn_id = torn["run"]["info"]["run_id"].as_str().unwrap().to_string();
    t.post(
        "runs/log-batch",
        json!({ "run_id": torn_id, "params": [{ "key": "batch_size", "value": "999" }] }),
    );
    let o = export(&t.uri, &rows_dir);
    assert!(o.status.success(), "{}", text(&o));
    let want = "exported 1 runs (1 already there; 1 replacing an unfinished run)";
    assert!(stdout(&o).contains(want), "{}", text(&o));
    let after = t.runs(&exp);
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|r| r["info"]["run_id"] != json!(torn_id)));
    for row in &rows {
        check_run(run_of(&after, row), row);
    }
    let gone = t.get("runs/get", &[("run_id", &torn_id)]);
    assert_eq!(gone["run"]["info"]["lifecycle_stage"], "deleted");

    // The server goes away: exit 1, the address named, nothing claimed.
    let uri = t.uri.clone();
    drop(t);
    let o = export(&uri, &rows_dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "nothing was exported: MLflow at {uri}: GET experiments/get-by-name failed"
        )),
        "{err}"
    );
    assert!(!stdout(&o).contains("exported"), "{}", text(&o));
}

/// A server that answers the lookups and `runs/create` but refuses `runs/log-batch`: the
/// export stops at the first run, names it as unfinished, and claims no run.
#[test]
fn a_server_failing_mid_export_is_an_error_that_claims_no_run() {
    fn answer(path: &str) -> Option<&'static str> {
        match path.strip_prefix("/api/2.0/mlflow/")? {
            "experiments/get-by-name" => {
                Some(r#"{"experiment":{"experiment_id":"7","lifecycle_stage":"active"}}"#)
            }
            "runs/search" => Some("{}"),
            "runs/create" => Some(r#"{"run":{"info":{"run_id":"abc"}}}"#),
            _ => None,
        }
    }
    let uri = fake_mlflow(answer);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/example");
    let o = export(&uri, &dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("export stopped after 0 new runs of "), "{err}");
    assert!(err.contains("MLflow run abc is left unfinished"), "{err}");
    assert!(
        err.contains(&format!(
            "MLflow at {uri}: POST runs/log-batch failed: HTTP 404"
        )),
        "{err}"
    );
    assert!(!stdout(&o).contains("exported"), "{}", text(&o));
}
