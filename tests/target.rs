//! Time to a target quality and the cpu kernel switch, through the command line on the cpu
//! backend: what the rows record, where a run stops, and which options are refused.

mod common;

use std::process::Command;

use common::{epochs, gpubench, runs, text};

fn run_cpu(out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "--instance",
        "local",
        "--backend",
        "cpu",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    gpubench(&args)
}

#[test]
fn a_run_stops_at_its_target_and_records_the_epochs_seconds_and_dollars_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_cpu(
        out,
        &[
            "--workload",
            "turtle",
            "--synthetic",
            "64",
            "--epochs",
            "5",
            "--price",
            "3600",
            "--target-accuracy",
            "0.01",
            "--stop-at-target",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let row = &runs(dir.path())[0];
    let eps = epochs(dir.path());
    // Any accuracy reaches 1 %: the first epoch does, and the run ends there.
    assert_eq!((row.target, row.epochs_to_target), (Some(0.01), Some(1)));
    assert_eq!(eps.len(), 1, "{eps:?}");
    assert_eq!(row.time_to_target_s, Some(eps[0].seconds));
    let with_init = eps[0].seconds + row.device_init_s.unwrap() + row.model_init_s.unwrap();
    assert_eq!(row.time_to_target_init_s, Some(with_init));
    // At $3600/h a second costs a dollar.
    assert_eq!(row.cost_to_target_usd, Some(with_init));
    assert_eq!(row.epochs, 5, "the row keeps the epochs asked for");
}

#[test]
fn a_target_not_reached_leaves_its_columns_empty_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_cpu(
        out,
        &[
            "--workload",
            "keypoints",
            "--synthetic",
            "40",
            "--epochs",
            "2",
            "--target-rmse",
            "0.001",
            "--stop-at-target",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let row = &runs(dir.path())[0];
    assert_eq!(row.target, Some(0.001));
    assert_eq!(
        (
            row.epochs_to_target,
            row.time_to_target_s,
            row.time_to_target_init_s,
            row.cost_to_target_usd
        ),
        (None, None, None, None)
    );
    assert_eq!(epochs(dir.path()).len(), 2);
}

#[test]
fn target_options_are_refused_where_they_do_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run_cpu(out, &["--workload", "turtle", "--target-rmse", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--target-rmse is for workloads measured by rmse_px (keypoints)"),
        "{}",
        text(&o)
    );
    let o = run_cpu(out, &["--target-accuracy", "1.5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not a fraction"), "{}", text(&o));
    assert!(!dir.path().join("runs.csv").exists());
}

#[test]
fn burns_plain_ops_train_the_cpu_backend_to_the_same_numbers_from_the_same_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let job = [
        "--workload",
        "keypoints",
        "--synthetic",
        "40",
        "--epochs",
        "2",
    ];
    let o = run_cpu(out, &job);
    assert!(o.status.success(), "{}", text(&o));
    // The environment variable is the same switch as --cpu-ops.
    let o = Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args([
            "run",
            "--instance",
            "local",
            "--backend",
            "cpu",
            "--out",
            out,
        ])
        .args(job)
        .env("GPUBENCH_CPU_OPS", "burn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let rows = runs(dir.path());
    let (own, burn) = (&rows[0], &rows[1]);
    assert_eq!(
        (own.layer_ops.as_deref(), burn.layer_ops.as_deref()),
        (Some("gpubench"), Some("burn"))
    );
    assert_eq!(own.init_sha256, burn.init_sha256);
    let (a, b) = (
        own.final_train_loss.unwrap(),
        burn.final_train_loss.unwrap(),
    );
    assert!(((a - b) / a).abs() < 1e-5, "{a} vs {b}");
}
