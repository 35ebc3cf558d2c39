//! The mapping of rows to runs, checked on a row with known values.

use super::*;
use crate::export::mlflow::batch::{MAX_PARAMS, MAX_TAG_VALUE, MAX_TAGS, batches};

fn row() -> RunRow {
    RunRow {
        run_id: "20261202T075627Z-03".into(),
        started_at: "2026-12-02T07:56:27Z".into(),
        instance: "g5.xlarge".into(),
        backend: "cuda".into(),
        device_name: Some("NVIDIA A10G".into()),
        workload: "keypoints".into(),
        model: "net2".into(),
        batch_size: 32,
        repeat: 1,
        devices: Some(4),
        price_usd_per_hour: Some(1.006),
        train_s: Some(12.5),
        total_s: Some(20.25),
        images_per_s: Some(203.19784399915827),
        cost_usd: Some(0.0000530775),
        mfu: Some(0.0),
        git_sha: Some("abc123".into()),
        burn_version: "0.21.0".into(),
        status: Status::Diverged,
        ..RunRow::default()
    }
}

fn get<'a>(v: &'a [(String, String)], k: &str) -> Option<&'a str> {
    v.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn epoch(run: &RunRow, epoch: usize, loss: f64, val: Option<f64>) -> EpochRow {
    EpochRow {
        run_id: run.run_id.clone(),
        workload: run.workload.clone(),
        backend: run.backend.clone(),
        batch_size: run.batch_size,
        repeat: run.repeat,
        devices: 4,
        epoch,
        seconds: 1.5,
        train_loss: loss,
        val_metric: val,
    }
}

#[test]
fn a_row_becomes_its_params_metrics_and_tags_with_the_csv_values() {
    let s = spec(&row(), &[], 0);
    let want = [
        ("instance", "g5.xlarge"),
        ("backend", "cuda"),
        ("device_name", "NVIDIA A10G"),
        ("workload", "keypoints"),
        ("model", "net2"),
        ("batch_size", "32"),
        ("devices", "4"),
        ("price_usd_per_hour", "1.006"),
    ];
    for (k, v) in want {
        assert_eq!(get(&s.params, k), Some(v), "param {k}");
    }
    for (k, v) in [
        ("gpubench.run_id", "20261202T075627Z-03"),
        ("gpubench.git_sha", "abc123"),
        ("gpubench.burn_version", "0.21.0"),
        ("gpubench.status", "diverged"),
    ] {
        assert_eq!(get(&s.tags, k), Some(v), "tag {k}");
    }
    let value = |k: &str| {
        s.metrics
            .iter()
            .find(|m| m.key == k)
            .map(|m| (m.value, m.step))
    };
    assert_eq!(value("train_s"), Some((12.5, 0)));
    assert_eq!(value("images_per_s"), Some((203.19784399915827, 0)));
    assert_eq!(value("cost_usd"), Some((0.0000530775, 0)));
    // A measured 0 is a value; an empty field is not.
    assert_eq!(value("mfu"), Some((0.0, 0)));
    for absent in ["eval_s", "total_energy_j", "val_metric", "epochs_to_target"] {
        assert_eq!(value(absent), None, "{absent}");
    }
    assert_eq!(s.metrics.len(), 5);
    assert!(get(&s.params, "provider").is_none() && get(&s.tags, "gpubench.error").is_none());
    assert_eq!(
        (s.name.as_str(), s.status),
        ("keypoints cuda g5.xlarge b32 r1 x4", "FAILED")
    );
    assert_eq!(
        (s.start_ms, s.end_ms),
        (1_796_198_187_000, 1_796_198_207_250)
    );
}

#[test]
fn epochs_are_steps_in_order_and_other_runs_epochs_are_not_taken() {
    let r = row();
    let mut other = epoch(&r, 0, 9.0, None);
    other.repeat = 2;
    let rows = [
        epoch(&r, 1, 0.5, Some(4.25)),
        epoch(&r, 0, 0.75, None),
        epoch(&r, 2, f64::NAN, Some(3.0)),
        other,
    ];
    let mine: Vec<&EpochRow> = rows.iter().filter(|e| epoch_of(e, &r)).collect();
    assert_eq!(mine.len(), 3);
    let s = spec(&r, &mine, 0);
    let history = |k: &str| -> Vec<(i64, f64)> {
        s.metrics
            .iter()
            .filter(|m| m.key == k)
            .map(|m| (m.step, m.value))
            .collect()
    };
    assert_eq!(history("epoch/train_loss"), [(0, 0.75), (1, 0.5)]);
    assert_eq!(history("epoch/val_metric"), [(1, 4.25), (2, 3.0)]);
    assert_eq!(history("epoch/seconds"), [(0, 1.5), (1, 1.5), (2, 1.5)]);
    assert!(s.metrics.iter().all(|m| m.timestamp == s.start_ms));
}

#[test]
fn the_key_tells_apart_every_field_of_a_runs_identity() {
    let a = row();
    assert_eq!(row_key(&a), row_key(&a.clone()));
    let variants: [fn(&mut RunRow); 5] = [
        |r| r.host_id = Some("h".into()),
        |r| r.node_rank = Some(1),
        |r| r.devices = None,
        |r| r.instance = "local".into(),
        |r| r.repeat = 0,
    ];
    for change in variants {
        let mut b = a.clone();
        change(&mut b);
        assert_ne!(row_key(&a), row_key(&b));
    }
    // Old rows without devices or node_rank are the one-device rank-0 run.
    let (mut old, mut new) = (row(), row());
    (old.devices, new.devices, new.node_rank) = (None, Some(1), Some(0));
    assert_eq!(row_key(&old), row_key(&new));
}

#[test]
fn statuses_and_long_values_fit_mlflow() {
    assert_eq!(mlflow_status(Status::Ok), "FINISHED");
    assert_eq!(mlflow_status(Status::Interrupted), "KILLED");
    assert_eq!(mlflow_status(Status::Unavailable), "FAILED");
    let mut r = row();
    r.error = Some("x".repeat(20_000));
    r.started_at = "not a time".into();
    let s = spec(&r, &[], 42);
    assert_eq!(
        get(&s.tags, "gpubench.error").unwrap().chars().count(),
        MAX_TAG_VALUE
    );
    assert_eq!((s.start_ms, s.end_ms), (42, 20_292));
}

#[test]
fn a_full_row_fits_one_call() {
    let r = RunRow {
        provider: Some("aws".into()),
        error: Some("e".into()),
        ..row()
    };
    let s = spec(&r, &[], 0);
    assert!(s.params.len() <= MAX_PARAMS && s.tags.len() < MAX_TAGS);
    assert_eq!(batches(&s.params, &s.tags, &s.metrics).len(), 1);
}
