//! What a report may merge and what a run is called: a fresh checkout's report holds only the
//! runs just made, with the keypoint pictures and the turtle confusion counts; lists given twice
//! run once; options that do not apply, paths that cannot be written and names that look like
//! typos are refused; a run in which nothing could run says so once and exits 3.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{chromium, gpubench, gpubench_in, runs, text};
use gpubench::record::Status;

/// Copies `from` (files and folders) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_fresh_checkout_reports_only_its_own_runs_with_pictures_and_confusion() {
    // A fresh clone's layout: the committed example under reports/example.
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/example");
    copy_tree(&example, &dir.path().join("reports/example"));
    let o = gpubench_in(
        dir.path(),
        &[
            "run",
            "--instance",
            "local",
            "--backend",
            "cpu,cpu",
            "--workload",
            "all",
            "--synthetic",
            "40",
            "--batch-size",
            "8,8",
            "--epochs",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    for warning in [
        "--backend names cpu more than once; it runs once",
        "--batch-size names 8 more than once; it runs once",
    ] {
        assert!(stderr.contains(warning), "{}", text(&o));
    }
    // One row per workload: the repeated backend and batch size ran once.
    let rows = runs(&dir.path().join("reports"));
    let made: Vec<(&str, &str, usize)> = rows
        .iter()
        .map(|r| (r.workload.as_str(), r.backend.as_str(), r.batch_size))
        .collect();
    assert_eq!(made, [("keypoints", "cpu", 8), ("turtle", "cpu", 8)]);
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");
    let turtle = &rows[1];
    let confusion = turtle.val_confusion.as_deref().unwrap();
    assert!(confusion.starts_with("noface: ") && confusion.contains("; face: "));
    let counted: u64 = confusion
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    assert_eq!(Some(counted as usize), turtle.n_val);
    assert_eq!((turtle.flip, turtle.missing.as_deref()), (None, None));
    assert_eq!(rows[0].flip, Some(false));
    assert!(
        rows.iter()
            .all(|r| r.host_id.as_ref().is_some_and(|h| h.len() == 12))
    );

    // `report` with its defaults reads what `run` wrote, not the committed example.
    let o = gpubench_in(dir.path(), &["report"]);
    assert!(o.status.success(), "{}", text(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.starts_with("read 1 runs.csv and 1 epochs.csv: 2 runs (0 not ok)"),
        "{said}"
    );
    let md = fs::read_to_string(dir.path().join("reports/report.md")).unwrap();
    let example_run = fs::read_to_string(example.join("runs.csv")).unwrap();
    let example_id = example_run
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap();
    assert!(
        md.contains(&rows[0].run_id) && !md.contains(example_id),
        "{md}"
    );
    assert!(md.starts_with("# gpubench report: local\n"), "{md}");
    // The markdown links the overlay picture; the page embeds it and the confusion table.
    let picture = rows[0].artifact.as_deref().unwrap();
    assert!(md.contains(&format!("]({picture})")), "{md}");
    assert!(
        md.contains("| predicted noface | predicted face | recall |"),
        "{md}"
    );
    let page = dir.path().join("reports/report.html");
    let html = fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 1);

    // As Chromium renders it: the picture decoded to its real size, the table laid out.
    let o = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(o.status.success(), "{}", text(&o));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("<th class=\"num\">predicted face</th>"),
        "{dom}"
    );
    assert!(
        dom.contains("alt=\"predictions of local · cpu · bs8\""),
        "{dom}"
    );
}

/// Runs `gpubench` with `args` into a new `--out`; returns the output and the folder.
fn run_in_new_out(args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    let out = dir.path().to_str().unwrap().to_string();
    all.extend(["--out", &out]);
    (gpubench(&all), dir)
}

#[test]
fn options_that_do_not_apply_and_paths_that_cannot_be_written_are_refused() {
    let base = ["run", "--instance", "local", "--backend", "cpu"];
    for (extra, needle) in [
        (
            &["--missing", "drop"][..],
            "--missing applies to real data read with --data-keypoints",
        ),
        (
            &["--skip-bad"][..],
            "--skip-bad applies to real data read with --data-turtle",
        ),
        (
            &["--flip", "--workload", "turtle"][..],
            "--flip is for the keypoints workload",
        ),
    ] {
        let (o, dir) = run_in_new_out(&[&base[..], extra].concat());
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{}",
            text(&o)
        );
        assert!(!dir.path().join("runs.csv").exists());
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    let o = gpubench(&[&base[..], &["--out", file.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("a-file: a file, not a folder"),
        "{}",
        text(&o)
    );
}

#[test]
fn names_users_can_use_and_a_run_where_nothing_could_run() {
    if Path::new("/dev/nvidia0").exists() {
        return; // cuda would run here
    }
    let cuda = [
        "--backend",
        "cuda",
        "--workload",
        "turtle",
        "--batch-size",
        "8,16",
    ];
    // A machine outside the catalog, priced by the user; nothing could run: exit 3, once said.
    let (o, dir) = run_in_new_out(
        &[
            &["run", "--instance", "my-laptop", "--price", "0.2"][..],
            &cuda[..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.matches("libcuda").count(), 1, "{stdout}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing could run here"),
        "{}",
        text(&o)
    );
    let rows = runs(dir.path());
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(
            (
                r.instance.as_str(),
                r.instance_source.as_str(),
                r.provider.as_deref()
            ),
            ("my-laptop", "user", Some("local"))
        );
        assert_eq!(
            (r.price_usd_per_hour, r.price_kind.as_deref(), r.status),
            (Some(0.2), Some("user"), Status::Unavailable)
        );
    }
    // Catalog names in any case; a near-miss without a price is taken for a typo.
    let (o, dir) = run_in_new_out(&[&["run", "--instance", "G5.XLARGE"][..], &cuda[..]].concat());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(runs(dir.path()).iter().all(|r| r.instance == "g5.xlarge"));
    let (o, dir) = run_in_new_out(&[&["run", "--instance", "g5.xlarg"][..], &cuda[..]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean g5.xlarge"));
    assert!(!dir.path().join("runs.csv").exists());
}

#[test]
fn data_synth_refuses_a_folder_that_is_not_empty_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let synth = |extra: &[&str]| {
        gpubench(&[&["data", "synth", "--out", out, "--rows", "4"][..], extra].concat())
    };
    assert!(synth(&[]).status.success());
    let o = synth(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not empty"),
        "{}",
        text(&o)
    );
    // --force replaces what synth wrote, and leaves no image of the earlier set behind.
    let stale = dir.path().join("turtle-crops/face/stale.png");
    fs::copy(dir.path().join("turtle-crops/face/face_0001.png"), &stale).unwrap();
    let o = synth(&["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!stale.exists());
    // Anything else in the folder is not synth's to remove, and the refusal removes nothing.
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let o = synth(&["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(dir.path().join("training.csv").exists());
}

#[test]
fn instances_shows_every_column_explains_its_sources_and_checks_the_provider() {
    let o = gpubench(&["instances"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    let header = s.lines().next().unwrap();
    for column in [
        "vCPUs",
        "mem GiB",
        "GPU × count",
        "fp32 TF/GPU",
        "$/h",
        "spot $/h",
        "date",
        "source",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let a100 = s
        .lines()
        .find(|l| l.starts_with("Standard_NC24ads_A100_v4"))
        .unwrap();
    assert!(
        a100.contains("1× NVIDIA A100 80GB") && a100.contains(" 19.5 "),
        "{a100}"
    );
    assert!(s.contains("\n  [V]      tsaol/aws-gpu"), "{s}");
    assert!(
        s.contains("\n  [SKY-Z]  skypilot-org/skypilot-catalog"),
        "{s}"
    );
    let o = gpubench(&["instances", "--provider", "oracle"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("[possible values: aws, gcp, azure, local]")
    );
}
