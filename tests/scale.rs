//! Data-parallel training on this machine: replicas on the cpu backend's one device all-reduce
//! their gradients through burn's collective and train what one device trains on the same
//! global batches; the rows and the report say how it scaled and what each GPU costs; a node
//! whose peer is gone fails within the peer timeout instead of hanging.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fleet::free_port;
use common::{epochs, gpubench, runs, text};
use gpubench::record::{EpochRow, RunRow, Status};

/// Largest relative difference of per-epoch losses that still counts as the same training:
/// the replicas sum the batch in another order than one device does (measured: 1e-7).
const TOL: f64 = 1e-5;

fn run(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        "--instance",
        "p5.48xlarge",
        "--backend",
        "cpu",
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = gpubench(&args);
    assert!(o.status.success(), "{}", text(&o));
}

/// The per-epoch training losses of the run of `w` on `devices` with batch size `b`.
fn losses(epochs: &[EpochRow], w: &str, b: usize, devices: usize) -> Vec<f64> {
    let l: Vec<f64> = epochs
        .iter()
        .filter(|e| e.workload == w && e.batch_size == b && e.devices == devices)
        .map(|e| e.train_loss)
        .collect();
    assert_eq!(l.len(), 2, "{w} b{b} ×{devices}: {epochs:?}");
    l
}

fn assert_same(a: &[f64], b: &[f64], what: &str) {
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs() / y.abs();
        assert!(
            d < TOL,
            "{what}: {a:?} vs {b:?} (relative difference {d:e})"
        );
    }
}

fn row<'a>(rows: &'a [RunRow], w: &str, devices: usize, scaling: &str) -> &'a RunRow {
    rows.iter()
        .find(|r| {
            r.workload == w && r.devices == Some(devices) && r.scaling.as_deref() == Some(scaling)
        })
        .unwrap_or_else(|| panic!("no {w} ×{devices} {scaling} row in {rows:?}"))
}

#[test]
fn two_devices_train_what_one_does_on_the_same_global_batches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let data = out.join("data");
    let o = gpubench(&[
        "data",
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--rows",
        "96",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Real-format keypoints leave most points missing, so the replicas' shares of the masked
    // loss differ: a mean of per-replica means would not be the one device's gradient.
    let csv = data.join("training.csv");
    let both = [
        "--workload",
        "keypoints,turtle",
        "--data-keypoints",
        csv.to_str().unwrap(),
        "--synthetic",
        "96",
    ];
    for extra in [
        &["--devices", "1", "--batch-size", "32"][..],
        &["--devices", "2", "--batch-size", "16"],
        &["--devices", "2", "--batch-size", "32", "--global-batch"],
    ] {
        run(out, &[&both[..], extra].concat());
    }

    let (rows, epochs) = (runs(out), epochs(out));
    for w in ["keypoints", "turtle"] {
        let one = losses(&epochs, w, 32, 1);
        assert_same(
            &losses(&epochs, w, 16, 2),
            &one,
            &format!("{w}: 2 × 16 vs 1 × 32"),
        );
        assert_same(
            &losses(&epochs, w, 32, 2),
            &one,
            &format!("{w}: 32 over 2 vs 1 × 32"),
        );
        let base = row(&rows, w, 1, "weak");
        for r in [row(&rows, w, 2, "weak"), row(&rows, w, 2, "strong")] {
            assert_eq!(r.status, Status::Ok, "{:?}", r.error);
            assert_eq!(
                (r.nodes, r.node_rank, r.global_batch),
                (Some(1), Some(0), Some(32))
            );
            assert!(
                r.comm_s.is_some_and(|c| c > 0.0 && c < r.train_s.unwrap()),
                "{r:?}"
            );
            assert_eq!(r.init_sha256, base.init_sha256);
            let metric = |r: &RunRow| [r.val_metric.unwrap()];
            assert_same(&metric(r), &metric(base), &format!("{w}: validation"));
            // The cpu trains on no GPU of the eight the instance bills for.
            assert_eq!((r.gpus_used, r.gpu_count), (Some(0), Some(8)));
        }
        assert_eq!((base.comm_s, base.global_batch), (None, Some(32)));
    }

    let report = out.join("report");
    let o = gpubench(&[
        "report",
        "--in",
        out.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let table = md
        .split("### Scaling over devices and nodes")
        .nth(1)
        .unwrap_or_else(|| panic!("no scaling table:\n{md}"));
    let lines: Vec<&str> = table
        .lines()
        .skip(4)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        md.matches("### Scaling over devices and nodes").count(),
        2,
        "{md}"
    );
    // Keypoints first: bs16 weak has no one-device bs16 run, so no line; bs32 strong has one.
    let strong: Vec<&&str> = lines.iter().filter(|l| l.contains("· strong |")).collect();
    assert_eq!(strong.len(), 2, "{table}");
    let cells: Vec<&str> = strong[1].split('|').map(str::trim).collect();
    assert_eq!(&cells[2..6], ["strong", "2", "2", "1"], "{}", strong[1]);
    assert!(
        cells[7].ends_with('×') && cells[8].ends_with('%'),
        "{}",
        strong[1]
    );
    assert!(cells[11].starts_with("uses 0 of 8 GPUs"), "{}", strong[1]);
    // p5.48xlarge's $55.04/h over its 8 GPUs.
    assert!(md.contains("| $6.88 |"), "{md}");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("Speedup over devices and nodes"));
}

#[test]
fn devices_a_backend_does_not_have_are_unavailable_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    // One keypoints run of `backend` on `devices` devices; its row's reason.
    let refused = |backend: &str, devices: &str| {
        let o = gpubench(&[
            "run",
            "--instance",
            "local",
            "--backend",
            backend,
            "--workload",
            "keypoints",
            "--devices",
            devices,
            "--epochs",
            "1",
            "--out",
            out,
        ]);
        let r = runs(dir.path())
            .pop()
            .unwrap_or_else(|| panic!("{}", text(&o)));
        assert_eq!(r.status, Status::Unavailable, "{}", text(&o));
        assert_eq!(r.gpus_used, None, "a run that never started used no GPU");
        r.error.unwrap_or_default()
    };
    let why = refused("wgpu", "2");
    assert!(why.starts_with("--devices 2: wgpu sees 1 "), "{why}");
    // The cpu's replicas are threads with a model each: a number is not a licence to make
    // a million of them.
    let why = refused("cpu", "1000000");
    assert!(
        why.contains("--devices 1000000: cpu's replicas share this machine's"),
        "{why}"
    );
}

#[test]
fn a_multi_node_run_needs_its_coordinator_run_id_and_one_run() {
    let refused = |extra: &[&str], says: &str| {
        let mut args = vec![
            "run",
            "--instance",
            "local",
            "--backend",
            "cpu",
            "--nodes",
            "2",
        ];
        args.extend(extra);
        let o = gpubench(&args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    };
    refused(
        &["--workload", "keypoints"],
        "--nodes 2 needs --coordinator HOST:PORT",
    );
    let at = ["--coordinator", "127.0.0.1:1", "--workload", "keypoints"];
    refused(&at, "--nodes 2 needs --run-id ID");
    refused(
        &[&at[..], &["--run-id", "r", "--node-rank", "2"]].concat(),
        "ranks are 0 to 1",
    );
    let two = [&at[..], &["--run-id", "r", "--batch-size", "8,16"]].concat();
    refused(&two, "trains one run");
}

fn node(rank: &str, port: u16, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpubench"));
    let coordinator = format!("127.0.0.1:{port}");
    cmd.args([
        "run",
        "--instance",
        "local",
        "--backend",
        "cpu",
        "--workload",
        "keypoints",
        "--epochs",
        "2",
        "--nodes",
        "2",
        "--coordinator",
        &coordinator,
        "--run-id",
        "two-nodes",
        "--peer-timeout",
        "5",
        "--node-rank",
        rank,
        "--out",
    ])
    .arg(out)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd
}

#[test]
fn a_node_whose_peer_dies_fails_within_the_peer_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (out0, out1) = (dir.path().join("rank0"), dir.path().join("rank1"));
    let port = free_port();
    let started = Instant::now();
    let mut rank0 = node("0", port, &out0).spawn().unwrap();
    let mut rank1 = node("1", port, &out1).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    rank1.kill().unwrap();
    rank1.wait().unwrap();
    let deadline = started + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = rank0.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            rank0.kill().unwrap();
            panic!("rank 0 still runs a minute after its peer died");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "a failed run is a row, not a crash: {status:?}"
    );
    let rows = runs(&out0);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.status, r.run_id.as_str()), (Status::Failed, "two-nodes"));
    assert_eq!((r.nodes, r.node_rank), (Some(2), Some(0)));
    let why = r.error.as_deref().unwrap_or_default();
    assert!(why.contains("gave no answer in 5 s"), "{why}");
}

#[test]
#[ignore = "burn-collective 0.21's node SyncService never clears its list of synced peers (it \
            clears a copy), so a node's second global all-reduce waits forever"]
fn two_nodes_train_what_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let (out0, out1) = (dir.path().join("rank0"), dir.path().join("rank1"));
    let port = free_port();
    let mut rank0 = node("0", port, &out0).spawn().unwrap();
    let mut rank1 = node("1", port, &out1).spawn().unwrap();
    assert!(rank0.wait().unwrap().success() && rank1.wait().unwrap().success());
    let r = &runs(&out0)[0];
    assert_eq!(r.status, Status::Ok, "{:?}", r.error);
    // Rank 1 speaks only for a run that failed there.
    assert!(!out1.join("runs.csv").exists() || runs(&out1).is_empty());
    let one = dir.path().join("one");
    run(
        &one,
        &[
            "--workload",
            "keypoints",
            "--batch-size",
            "32",
            "--devices",
            "1",
        ],
    );
    let two = losses(&epochs(&out0), "keypoints", 16, 1);
    assert_same(
        &two,
        &losses(&epochs(&one), "keypoints", 32, 1),
        "2 nodes × 16 vs 1 × 32",
    );
}
