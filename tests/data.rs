//! Real-format data end to end: what `data synth` writes trains on the cpu backend and the rows
//! say which data it was; every kind of bad input is refused with exit code 2, a message naming
//! the file and line (or image) and what is wrong, and runs.csv left as it was.

mod common;

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use common::{gpubench, runs, text};
use gpubench::record::RunRow;
use gpubench::workload::keypoints::kaggle::{COLUMNS, PIXELS, TARGETS};

/// `data synth --rows ROWS` into a new temporary directory: training.csv, turtle-crops/ with
/// ROWS/2 images per class, turtle-raw/ with ROWS/2 images.
fn synth(rows: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = gpubench(&["data", "synth", "--out", out, "--rows", rows, "--seed", "5"]);
    assert!(o.status.success(), "{}", text(&o));
    dir
}

fn run_args<'a>(out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--instance",
        "local",
        "--backend",
        "cpu",
        "--epochs",
        "1",
    ];
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    // A second --batch-size would add a size, not replace this one.
    if !extra.contains(&"--batch-size") {
        args.extend(["--batch-size", "16"]);
    }
    args
}

/// One cpu epoch with `extra` arguments (batch 16 unless they say); returns the one row.
fn train(extra: &[&str]) -> RunRow {
    let out = tempfile::tempdir().unwrap();
    let o = gpubench(&run_args(out.path(), extra));
    assert!(o.status.success(), "{}", text(&o));
    let rows = runs(out.path());
    assert_eq!(rows.len(), 1, "{}", text(&o));
    let r = rows.into_iter().next().unwrap();
    let sha = r.dataset_sha256.as_deref().unwrap_or_default();
    assert!(
        sha.len() == 16 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "dataset_sha256 {sha:?}"
    );
    assert!(r.val_metric.is_some_and(f64::is_finite), "{r:?}");
    r
}

fn turtle(dir: &Path) -> [&str; 4] {
    [
        "--workload",
        "turtle",
        "--data-turtle",
        dir.to_str().unwrap(),
    ]
}

fn n_images(r: &RunRow) -> usize {
    r.n_train.unwrap() + r.n_val.unwrap()
}

#[test]
fn synth_keypoints_train_with_every_missing_policy() {
    let dir = synth("64");
    let csv = dir.path().join("training.csv");
    let csv = csv.to_str().unwrap();
    let kp = ["--workload", "keypoints", "--data-keypoints", csv];

    let r = train(&kp);
    assert_eq!((r.dataset.as_deref(), n_images(&r)), (Some("kaggle"), 64));
    let ffill = train(&[&kp[..], &["--missing", "ffill"]].concat());
    assert_eq!(n_images(&ffill), 64);
    assert_ne!(ffill.dataset_sha256, r.dataset_sha256);

    // drop keeps exactly the rows with all 30 coordinates.
    let text = fs::read_to_string(csv).unwrap();
    let complete = text
        .lines()
        .skip(1)
        .filter(|l| l.split(',').take(TARGETS).all(|f| !f.is_empty()))
        .count();
    assert!(complete > 4 && complete < 64, "{complete}");
    let drop = [
        &kp[..],
        &["--missing", "drop", "--flip", "--batch-size", "4"],
    ]
    .concat();
    assert_eq!(n_images(&train(&drop)), complete);
}

#[test]
fn synth_turtle_crops_and_raw_images_train() {
    let dir = synth("64");
    let crops = dir.path().join("turtle-crops");
    let raw = dir.path().join("turtle-raw");
    let r = train(&turtle(&crops));
    assert_eq!((r.dataset.as_deref(), n_images(&r)), (Some("crops"), 64));
    let hog = train(&[&turtle(&crops)[..], &["--model", "mlp-hog"]].concat());
    assert_eq!(
        (hog.model.as_str(), hog.dataset.as_deref()),
        ("mlp-hog", Some("crops"))
    );

    let y = train(&turtle(&raw));
    assert_eq!(y.dataset.as_deref(), Some("yolo"));
    assert!(
        n_images(&y) > 32,
        "a face per box and most images a no-face: {y:?}"
    );
    // Cutting is deterministic: the same files and seed give the same bytes.
    assert_eq!(train(&turtle(&raw)).dataset_sha256, y.dataset_sha256);
}

/// A runs.csv with one real row, for checking that a refused run leaves it byte-identical.
fn earlier_runs_csv() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        let args = ["--workload", "turtle", "--synthetic", "40"];
        let o = gpubench(&run_args(out.path(), &args));
        assert!(o.status.success(), "{}", text(&o));
        fs::read_to_string(out.path().join("runs.csv")).unwrap()
    })
}

/// `extra` must be refused twice: into a directory with an earlier runs.csv (left
/// byte-identical) and into an empty one (no runs.csv made), each with exit code 2 and every
/// `needle` in stderr.
fn refused(extra: &[&str], needles: &[&str]) {
    for earlier in [Some(earlier_runs_csv()), None] {
        let out = tempfile::tempdir().unwrap();
        let runs_csv = out.path().join("runs.csv");
        if let Some(t) = earlier {
            fs::write(&runs_csv, t).unwrap();
        }
        let o = gpubench(&run_args(out.path(), extra));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        for n in needles {
            assert!(stderr.contains(n), "stderr lacks {n:?}\n{}", text(&o));
        }
        match earlier {
            Some(t) => assert_eq!(fs::read_to_string(&runs_csv).unwrap(), t),
            None => assert!(!runs_csv.exists(), "a refused run made runs.csv"),
        }
    }
}

/// `training.csv` holding `text`, in a new temporary directory.
fn keypoints_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("training.csv");
    fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

fn refused_keypoints(text: &str, needles: &[&str]) {
    let (_dir, path) = keypoints_file(text);
    refused(
        &["--workload", "keypoints", "--data-keypoints", &path],
        needles,
    );
}

/// The header, a good row (line 2), and `line` as line 3.
fn with_line(line: &str) -> String {
    format!("{}\n{}\n{line}\n", COLUMNS.join(","), row(&[]))
}

/// A row of 48.5s and pixels of 7, with the coordinates in `set` (column, text) replaced.
fn row(set: &[(usize, &str)]) -> String {
    let mut coords = vec!["48.5"; TARGETS];
    for &(k, v) in set {
        coords[k] = v;
    }
    format!("{},{}", coords.join(","), vec!["7"; PIXELS].join(" "))
}

#[test]
fn bad_keypoints_files_are_refused_with_file_line_and_reason() {
    let header = COLUMNS.join(",").replace("nose_tip_x", "nose_x");
    refused_keypoints(
        &format!("{header}\n{}\n", row(&[])),
        &["training.csv:1", "\"nose_x\"", "expected \"nose_tip_x\""],
    );
    refused_keypoints(
        &with_line(&row(&[]).replacen("48.5,", "", 1)),
        &["training.csv:3", "30 fields, expected 31"],
    );
    refused_keypoints(
        &with_line(&row(&[(3, "abc")])),
        &["training.csv:3: field 4 (right_eye_center_y) is \"abc\", not a number"],
    );
    refused_keypoints(
        &with_line(&row(&[]).replacen(" 7", "", 1)),
        &["training.csv:3", "has 9215 values, expected 9216"],
    );
    refused_keypoints(
        &with_line(&row(&[]).replacen(" 7", " 256", 1)),
        &["training.csv:3", "value 2 is \"256\", outside 0..=255"],
    );
    refused_keypoints(
        &with_line(&row(&[]).replacen(" 7", " 1.5", 1)),
        &["training.csv:3", "value 2 is \"1.5\", not an integer"],
    );
    refused_keypoints("", &["training.csv: the file is empty"]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    refused(
        &[
            "--workload",
            "keypoints",
            "--data-keypoints",
            missing.to_str().unwrap(),
        ],
        &["nope.csv: cannot read"],
    );
}

#[test]
fn bad_turtle_data_is_refused_with_file_line_and_reason() {
    let empty = tempfile::tempdir().unwrap();
    let needles = ["not a turtle dataset", "face/", "noface/", "images/"];
    refused(&turtle(empty.path()), &needles);

    let dir = synth("64");
    let raw = dir.path().join("turtle-raw");
    let label = raw.join("labels").join("Image_1.txt");
    fs::write(&label, "0 0.5 abc 0.2 0.2\n").unwrap();
    refused(
        &turtle(&raw),
        &["Image_1.txt:1: cy is \"abc\", not a number"],
    );
    fs::remove_dir_all(raw.join("labels")).unwrap();
    let csv = raw.join("labels.csv");
    let first = fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    fs::write(&csv, format!("{first}\nTurtle,1,2,3\n")).unwrap();
    refused(&turtle(&raw), &["labels.csv:2: 4 fields, expected 8"]);
}

#[test]
fn a_corrupt_image_fails_the_run_unless_skipped() {
    let dir = synth("64");
    let crops = dir.path().join("turtle-crops");
    fs::write(crops.join("face").join("face_0002.png"), b"not a png").unwrap();
    let args = turtle(&crops);
    refused(
        &args,
        &["face_0002.png: cannot decode the image", "--skip-bad"],
    );
    let r = train(&[&args[..], &["--skip-bad"]].concat());
    assert_eq!((r.n_skipped, n_images(&r)), (Some(1), 63));
}
