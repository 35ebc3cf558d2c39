//! `gpubench report`: instances merged into every table, bad rows skipped with file:line and
//! counted, a file of another header refused with nothing written, rows synced twice counted
//! once, and report.html as Chromium renders it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{chromium, gpubench, text};

/// Two instances: a (g4dn.xlarge, schema 3: cuda, wgpu, cpu; repeats; a failed run) and
/// b (c7i.2xlarge, schema 2: no GPU, so cuda is unavailable; wgpu on lavapipe).
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report")
}

/// Runs `gpubench report --in I... --out DIR/out`; returns DIR/out and what the command did.
fn report(dir: &Path, inputs: &[&Path]) -> (PathBuf, Output) {
    let out = dir.join("out");
    let mut args = vec!["report".to_string()];
    for i in inputs {
        args.extend(["--in".to_string(), i.display().to_string()]);
    }
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (out, gpubench(&args))
}

/// Like `report`, and expects it to succeed; returns DIR/out and the markdown.
fn report_ok(dir: &Path, inputs: &[&Path]) -> (PathBuf, String) {
    let (out, o) = report(dir, inputs);
    assert!(o.status.success(), "{}", text(&o));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    (out, md)
}

/// Each table of a markdown report: its `###` title and its data rows.
fn tables(md: &str) -> Vec<(&str, Vec<&str>)> {
    let mut tables: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in md.lines() {
        if let Some(title) = line.strip_prefix("### ") {
            tables.push((title, Vec::new()));
        } else if line.starts_with('|')
            && let Some((_, rows)) = tables.last_mut()
        {
            rows.push(line);
        }
    }
    for (_, rows) in &mut tables {
        rows.drain(..2.min(rows.len())); // the header and the alignment rule
    }
    tables
}

/// Copies the files of `from` into `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn two_instances_merge_into_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (fixtures().join("a"), fixtures().join("b"));
    let (out, md) = report_ok(dir.path(), &[&a, &b]);
    assert!(
        md.starts_with("# gpubench report: 2 instances (c7i.2xlarge, g4dn.xlarge)"),
        "{md}"
    );
    let tables = tables(&md);
    // Instances, and per workload: results, ranking, backends, phases; spread; did not finish.
    assert!(tables.len() >= 10, "{md}");
    for (title, rows) in &tables {
        for instance in ["g4dn.xlarge", "c7i.2xlarge"] {
            assert!(
                rows.iter().any(|r| r.contains(instance)),
                "{instance} missing from table {title}:\n{md}"
            );
        }
    }
    // Runs that did not finish are shown with their reason, not dropped.
    assert!(md.contains("| unavailable | no NVIDIA driver"), "{md}");
    assert!(md.contains("| failed | wgpu backend panicked"), "{md}");
    assert!(
        md.contains("| c7i.2xlarge | cuda | 32 | 1 unavailable |"),
        "{md}"
    );
    // The repeats of a: medians, CV flagged, the fastest and cheapest on the Pareto set.
    assert!(
        md.contains("| g4dn.xlarge | cuda | 32 | 3 ok | 2.72 ⚠ | 2.14 ⚠ | 0.679 | 2412 |"),
        "{md}"
    );
    assert!(md.contains("| 1 | 1 | ★ |"), "{md}");
    assert!(
        md.contains("| 0.617× | 39.9× |"),
        "wgpu÷cuda and gpu÷cpu: {md}"
    );
    assert!(out.join("report.html").exists());
}

#[test]
fn a_bad_row_is_skipped_with_its_file_and_line_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("b");
    copy_dir(&fixtures().join("b"), &bad);
    let runs = bad.join("runs.csv");
    let csv = fs::read_to_string(&runs).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let rows = lines.len() - 1;
    lines[3] = lines[3].replacen(",32,3,0,42,", ",3x2,3,0,42,", 1);
    // A row torn by a full disk, with the next run's row glued onto it.
    let glued = format!("{}{}", &lines[2][..50], lines[2]);
    lines.push(glued);
    fs::write(&runs, lines.join("\n") + "\n").unwrap();

    let (out, o) = report(dir.path(), &[&fixtures().join("a"), &bad]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let at = format!("{}:4: column batch_size = \"3x2\"", runs.display());
    assert!(stderr.contains(&format!("warning: {at}")), "{}", text(&o));
    let torn = format!("{}:{}: ", runs.display(), rows + 2);
    assert!(stderr.contains(&torn), "{}", text(&o));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("; 2 bad rows skipped as torn or malformed"),
        "{md}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("skipped 2 bad rows"));

    // A row from a newer gpubench is skipped as such; the rest still report.
    lines[3] = csv.lines().nth(3).unwrap().replacen("2,", "10,", 1);
    fs::write(&runs, lines.join("\n") + "\n").unwrap();
    let (_, o) = report(dir.path(), &[&bad]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(":4: schema_version 10 was written by a newer gpubench"),
        "{}",
        text(&o)
    );

    // A file whose header is not gpubench's refuses the report, which writes nothing.
    fs::write(&runs, csv.replacen("run_id", "run", 1)).unwrap();
    let (out, o) = report(&dir.path().join("refused"), &[&fixtures().join("a"), &bad]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(":1: not the columns of any gpubench schema_version"));
    assert!(!out.join("report.md").exists() && !out.join("report.html").exists());
}

#[test]
fn rows_synced_twice_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    copy_dir(&fixtures().join("a"), &bucket.join("a"));
    copy_dir(&fixtures().join("a"), &bucket.join("a-synced-again"));
    let (out, o) = report(dir.path(), &[&bucket]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("dropped 10 duplicate runs and 27 duplicate epoch rows"),
        "{stdout}"
    );
    let twice = fs::read_to_string(out.join("report.md")).unwrap();

    let once = tempfile::tempdir().unwrap();
    let (_, md) = report_ok(once.path(), &[&fixtures().join("a")]);
    // The same report but for the provenance line, which counts what was dropped.
    let body = |md: &str| md.split_once("\n### ").map(|(_, b)| b.to_string());
    assert_eq!(body(&twice), body(&md));
    assert!(md.contains("| g4dn.xlarge | cuda | 32 | 3 ok |"), "{md}");
}

#[test]
fn no_inputs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (out, o) = report(dir.path(), &[dir.path()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no runs.csv or epochs.csv found"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let browser = chromium();
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = report_ok(dir.path(), &[&fixtures()]);
    let page = out.join("report.html");
    let html = fs::read_to_string(&page).unwrap();

    // Seven charts per workload, each an inline SVG in its figure.
    let charts = [
        "epoch-time",
        "epoch-cost",
        "time-vs-cost",
        "phases",
        "loss",
        "metric",
        "to-target",
    ];
    for workload in ["keypoints-net2", "turtle-cnn"] {
        for chart in charts {
            let id = format!("<figure id=\"{workload}-{chart}\">");
            let at = html
                .find(&id)
                .unwrap_or_else(|| panic!("no {id} in report.html"));
            let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
            assert!(figure.contains("<svg"), "{id} has no chart");
        }
    }
    assert_eq!(html.matches("<svg").count(), 2 * charts.len());
    for label in [
        "steady epoch time (s)",
        "cost per epoch (USD)",
        "validation accuracy (%)",
        "training seconds so far",
    ] {
        assert!(html.contains(label), "no axis label {label}");
    }
    // Self-contained: nothing is fetched when the page opens.
    for fetch in ["<script", "<link", "src=", "url(", "https://"] {
        assert!(!html.contains(fetch), "report.html holds {fetch}");
    }

    let shot = dir.path().join("report.png");
    let o = Command::new("timeout")
        .arg("120")
        .arg(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2400")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(o.status.success(), "{}", text(&o));
    let png = fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot: {e}\n{}", text(&o)));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // Width and height from the IHDR chunk; a blank page compresses to a few kB.
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (1280, 2400));
    assert!(
        png.len() > 50_000,
        "a near-empty screenshot: {} bytes",
        png.len()
    );
}

/// `--format json` writes report.json alone: versioned, valid against schema/report-v1.json
/// (checked by Python's jsonschema), with the medians the rows give.
#[test]
fn json_report_has_its_schema_and_the_rows_figures() {
    common::fleet::require(&["python3"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = gpubench(&[
        "report",
        "--in",
        fixtures().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!out.join("report.md").exists() && !out.join("report.html").exists());
    let path = out.join("report.json");
    let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        (doc["format"].as_str(), doc["version"].as_u64()),
        (Some("gpubench-report"), Some(1))
    );

    // Each configuration's epoch_s median is the median of its ok rows' epoch_s_median.
    let rows: Vec<_> = ["a", "b"]
        .iter()
        .flat_map(|d| common::runs(&fixtures().join(d)))
        .collect();
    let mut checked = 0;
    for w in doc["workloads"].as_array().unwrap() {
        for c in w["configurations"].as_array().unwrap() {
            let Some(median) = c["stats"]["epoch_s"]["median"].as_f64() else {
                continue;
            };
            let mut v: Vec<f64> = rows
                .iter()
                .filter(|r| r.status == gpubench::record::Status::Ok)
                .filter(|r| r.instance == c["instance"] && r.backend == c["backend"])
                .filter(|r| Some(r.batch_size as u64) == c["batch_size"].as_u64())
                .filter(|r| r.workload == w["workload"] && r.model == w["model"])
                .filter_map(|r| r.epoch_s_median)
                .collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let want = if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            };
            assert_eq!(median, want, "{}", c["label"]);
            assert_eq!(c["stats"]["epoch_s"]["n"].as_u64(), Some(n as u64));
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "only {checked} configurations had an epoch time"
    );
    assert!(
        doc["provenance"]["burn_versions"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );

    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report-v1.json");
    let validate = |file: &Path| {
        Command::new("python3")
            .env("PATH", common::fleet::tool_path())
            .args([
                "-c",
                "import json, sys, jsonschema\n\
                 jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
            ])
            .arg(file)
            .arg(&schema)
            .output()
            .expect("python3 runs")
    };
    let ok = validate(&path);
    assert!(
        ok.status.success(),
        "report.json does not match its schema:\n{}",
        text(&ok)
    );
    // The schema can fail: a document without its version does not match.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("version");
    let bad = dir.path().join("broken.json");
    fs::write(&bad, broken.to_string()).unwrap();
    let o = validate(&bad);
    assert!(
        !o.status.success() && text(&o).contains("'version' is a required property"),
        "{}",
        text(&o)
    );
}
