//! `gpubench compare` on rows with known changes: a 20 % slowdown, a change within the repeats'
//! noise, a configuration on one side only, and a dataset that differs; its table and exit codes.

mod common;

use std::fs;
use std::path::Path;

use common::{gpubench, text};
use gpubench::record::{RUNS_FILE, RunRow, SCHEMA_VERSION, Status, append};

fn row(backend: &str, batch: usize, repeat: usize, epoch_s: f64, data: &str) -> RunRow {
    RunRow {
        schema_version: SCHEMA_VERSION,
        run_id: format!("run-{backend}-{batch}"),
        started_at: "2026-12-02T10:00:00Z".into(),
        status: Status::Ok,
        instance: "g5.xlarge".into(),
        instance_source: "cli".into(),
        backend: backend.into(),
        device_name: Some("NVIDIA A10G".into()),
        workload: "keypoints".into(),
        model: "net2".into(),
        dataset_sha256: Some(data.into()),
        batch_size: batch,
        epochs: 3,
        repeat,
        epoch_s_median: Some(epoch_s),
        images_per_s: Some(1000.0 / epoch_s),
        gpubench_version: "0.1.0".into(),
        burn_version: "0.21.0".into(),
        ..RunRow::default()
    }
}

/// Writes `rows` as (backend, batch, epoch times of the repeats, dataset) into DIR/runs.csv.
fn side(dir: &Path, rows: &[(&str, usize, &[f64], &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (backend, batch, times, data) in rows {
        for (repeat, t) in times.iter().enumerate() {
            append(
                &dir.join(RUNS_FILE),
                &row(backend, *batch, repeat, *t, data),
            )
            .unwrap();
        }
    }
}

fn compare(dir: &Path, extra: &[&str]) -> std::process::Output {
    let (b, c) = (dir.join("base"), dir.join("cand"));
    let mut args = vec![
        "compare",
        "--baseline",
        b.to_str().unwrap(),
        "--candidate",
        c.to_str().unwrap(),
    ];
    args.extend(extra);
    gpubench(&args)
}

/// The table row of a configuration (its label is `keypoints net2 · g5.xlarge · B · bsN · …`).
fn line<'a>(stdout: &'a str, backend: &str, batch: usize) -> &'a str {
    let label = format!("| keypoints net2 · g5.xlarge · {backend} · bs{batch} · NVIDIA A10G |");
    stdout
        .lines()
        .find(|l| l.starts_with(&label))
        .unwrap_or_else(|| panic!("no row {label} in\n{stdout}"))
}

#[test]
fn slowdown_noise_one_sided_and_mismatched_configurations() {
    let dir = tempfile::tempdir().unwrap();
    side(
        &dir.path().join("base"),
        &[
            ("cuda", 32, &[1.0, 1.01, 0.99], "aaaa"),
            ("wgpu", 32, &[2.0, 2.2, 1.8], "aaaa"),
            ("cpu", 32, &[9.0], "aaaa"),
            ("cuda", 64, &[0.6], "aaaa"),
        ],
    );
    side(
        &dir.path().join("cand"),
        &[
            ("cuda", 32, &[1.2, 1.21, 1.19], "aaaa"),
            ("wgpu", 32, &[2.16, 2.38, 1.94], "aaaa"),
            ("cuda", 64, &[0.6], "bbbb"),
            ("cuda", 16, &[1.5], "aaaa"),
        ],
    );
    let o = compare(
        dir.path(),
        &["--out", dir.path().join("cmp.md").to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        line(&stdout, "cuda", 32),
        "| keypoints net2 · g5.xlarge · cuda · bs32 · NVIDIA A10G | 1.000 (n=3, CV 1.0%) | \
         1.200 (n=3, CV 0.83%) | 1.200× | 2.0% | **regression** |"
    );
    assert!(
        line(&stdout, "wgpu", 32).ends_with("| 1.080× | 20.4% | within noise |"),
        "{stdout}"
    );
    assert!(line(&stdout, "cpu", 32).ends_with("| 9.000 | – |  |  | baseline only |"));
    assert!(line(&stdout, "cuda", 16).ends_with("| candidate only |"));
    assert!(
        line(&stdout, "cuda", 64).ends_with("| refused: dataset sha256 aaaa vs bbbb |"),
        "{stdout}"
    );
    assert!(stdout.contains("2 compared, 1 regressed."), "{stdout}");
    let file = fs::read_to_string(dir.path().join("cmp.md")).unwrap();
    assert!(
        stdout.starts_with(&file),
        "the file holds the table printed"
    );

    // The same comparison fails a CI job when asked to.
    let o = compare(dir.path(), &["--fail-on-regression"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains(
        "keypoints net2 · g5.xlarge · cuda · bs32 · NVIDIA A10G regressed beyond the threshold"
    ));
    // A threshold above the slowdown passes it.
    let o = compare(dir.path(), &["--fail-on-regression", "--threshold", "25%"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(line(&String::from_utf8_lossy(&o.stdout), "cuda", 32).ends_with("| unchanged |"));
}

#[test]
fn images_per_second_falling_is_the_regression() {
    let dir = tempfile::tempdir().unwrap();
    side(&dir.path().join("base"), &[("cuda", 32, &[1.0], "aaaa")]);
    side(&dir.path().join("cand"), &[("cuda", 32, &[1.25], "aaaa")]);
    let o = compare(
        dir.path(),
        &["--metric", "images_per_s", "--fail-on-regression"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        line(&stdout, "cuda", 32)
            .ends_with("| 1000 | 800.0 | 0.8000× | no repeats | **regression** |"),
        "{stdout}"
    );
}

#[test]
fn another_model_in_the_same_place_is_refused_and_each_model_is_compared_with_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (base, cand) = (dir.path().join("base"), dir.path().join("cand"));
    side(&base, &[("cuda", 32, &[1.0], "aaaa")]);
    side(&cand, &[("cuda", 32, &[1.0], "aaaa")]);
    let other = |dir: &Path, model: &str, batch: usize, t: f64| {
        let mut r = row("cuda", batch, 0, t, "aaaa");
        // One invocation trains one model: another model is another run id.
        (r.model, r.run_id) = (model.into(), format!("run-{model}"));
        append(&dir.join(RUNS_FILE), &r).unwrap();
    };
    other(&base, "mlp", 32, 0.1);
    other(&cand, "mlp", 32, 0.2);
    other(&base, "net3", 64, 1.0);
    other(&cand, "net4", 64, 1.0);
    let o = compare(dir.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(line(&stdout, "cuda", 32).ends_with("| 1.000× | no repeats | unchanged |"));
    let mlp =
        "| keypoints mlp · g5.xlarge · cuda · bs32 · NVIDIA A10G | 0.1000 | 0.2000 | 2.000× |";
    assert!(stdout.contains(mlp), "{stdout}");
    let refused = "| keypoints net3 · g5.xlarge · cuda · bs64 · NVIDIA A10G | 1.000 | 1.000 |  |  | \
                   refused: model net3 vs net4 |";
    assert!(stdout.contains(refused), "{stdout}");
    assert!(
        !stdout.contains("net4 ·"),
        "the refused pair is one row:\n{stdout}"
    );
}

#[test]
fn nothing_comparable_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    side(&dir.path().join("base"), &[("cuda", 32, &[1.0], "aaaa")]);
    side(&dir.path().join("cand"), &[("cuda", 32, &[1.0], "bbbb")]);
    let o = compare(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to compare"));
    let o = compare(dir.path(), &["--threshold", "five"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn cold_and_warm_compile_caches_are_compared_only_with_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let (base, cand) = (dir.path().join("base"), dir.path().join("cand"));
    // One invocation each: a first run that found the cache cold (or, later, warm on disk),
    // then repeats that reuse the kernels the process compiled.
    let runs = |dir: &Path, first: &str, init: &[f64]| {
        fs::create_dir_all(dir).unwrap();
        for (repeat, s) in init.iter().enumerate() {
            let cache = if repeat == 0 { first } else { "warm-process" };
            let r = RunRow {
                compile_cache: Some(cache.into()),
                init_s: Some(*s),
                ..row("wgpu", 32, repeat, 1.0, "aaaa")
            };
            append(&dir.join(RUNS_FILE), &r).unwrap();
        }
    };
    runs(&base, "cold", &[270.0, 2.0, 2.0]);
    runs(&cand, "warm-disk", &[20.0, 2.0, 2.0]);
    let o = compare(dir.path(), &["--metric", "init_s", "--fail-on-regression"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let row = |cache: &str| {
        let label =
            format!("| keypoints net2 · g5.xlarge · wgpu · bs32 · NVIDIA A10G · cache {cache} |");
        stdout
            .lines()
            .find(|l| l.starts_with(&label))
            .unwrap_or_else(|| panic!("no row {label} in\n{stdout}"))
            .to_string()
    };
    assert!(
        row("warm-process").ends_with("| 1.000× | 0% | unchanged |"),
        "{stdout}"
    );
    // 270 s against 20 s is a cache, not a speed-up: neither is compared with the other.
    assert!(
        row("cold").ends_with("| – |  |  | baseline only |"),
        "{stdout}"
    );
    assert!(row("warm-disk").ends_with("| candidate only |"), "{stdout}");
    assert!(stdout.contains("1 compared, 0 regressed."), "{stdout}");
}
