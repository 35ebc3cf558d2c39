//! Bad input: a clear message, exit code 2, and nothing written.

mod common;

use common::{gpubench, text};

fn assert_refused(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut all = args.to_vec();
    all.extend(["--out", out.to_str().unwrap()]);
    let o = gpubench(&all);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(needle),
        "{}",
        text(&o)
    );
    assert!(
        !out.join("runs.csv").exists(),
        "a refused run wrote runs.csv"
    );
}

#[test]
fn unknown_instance_lists_close_names() {
    assert_refused(&["run", "--instance", "g5.xlarg"], "did you mean g5.xlarge");
}

#[test]
fn unknown_backend_and_workload_are_refused() {
    assert_refused(&["run", "--instance", "local", "--backend", "rocm"], "rocm");
    assert_refused(
        &["run", "--instance", "local", "--workload", "mnist"],
        "mnist",
    );
}

#[test]
fn batch_larger_than_the_data_is_refused() {
    assert_refused(
        &[
            "run",
            "--instance",
            "local",
            "--synthetic",
            "10",
            "--batch-size",
            "9",
        ],
        "--batch-size 9",
    );
}

#[test]
fn bad_numbers_are_refused() {
    assert_refused(&["run", "--instance", "local", "--price", "-1"], "--price");
    assert_refused(&["run", "--instance", "local", "--epochs", "0"], "--epochs");
}

#[test]
fn a_runs_csv_of_another_schema_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs.csv");
    std::fs::write(&runs, "id,seconds\n1,2\n").unwrap();
    let o = gpubench(&[
        "run",
        "--instance",
        "local",
        "--backend",
        "cpu",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("runs.csv:1"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "id,seconds\n1,2\n");
}
