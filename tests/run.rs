//! `gpubench run` end to end on this machine: cpu and wgpu (lavapipe without a GPU) train for
//! real, cuda is recorded as unavailable with its reason.

mod common;

use std::path::Path;

use common::{epochs, gpubench, runs, text};
use gpubench::record::{RunRow, Status};

fn check_ok_row(r: &RunRow, all_epochs: &[gpubench::record::EpochRow]) {
    let what = format!("{}/{}", r.workload, r.backend);
    assert_eq!(r.status, Status::Ok, "{what}: {:?}", r.error);
    let phases = [
        r.device_init_s,
        r.data_load_s,
        r.model_init_s,
        r.warmup_s,
        r.train_s,
        r.eval_s,
    ];
    let phases: Vec<f64> = phases
        .iter()
        .map(|p| p.unwrap_or_else(|| panic!("{what}: phase missing")))
        .collect();
    assert!(phases.iter().all(|&s| s > 0.0), "{what}: phases {phases:?}");
    let total = r.total_s.unwrap();
    let sum: f64 = phases.iter().sum();
    assert!(
        (sum - total).abs() <= 0.05 * total,
        "{what}: phases sum {sum} vs total {total}"
    );
    assert_eq!(r.init_s.unwrap(), phases[0] + phases[2] + phases[3]);
    assert_eq!((r.n_train, r.n_val), (Some(102), Some(26)));
    assert_eq!(r.dataset.as_deref(), Some("synthetic"));
    assert!(r.images_per_s.unwrap() > 0.0 && r.epoch_s_median.unwrap() > 0.0);
    assert!(r.val_metric.is_some() && r.val_loss.is_some());
    let curve: Vec<f64> = all_epochs
        .iter()
        .filter(|e| e.workload == r.workload && e.backend == r.backend)
        .map(|e| e.train_loss)
        .collect();
    assert_eq!(curve.len(), 2, "{what}: epochs {curve:?}");
    assert!(curve[1] < curve[0], "{what}: loss did not fall: {curve:?}");
    assert_eq!(r.final_train_loss, Some(curve[1]));
    // No price for `local`: no cost, rather than a made-up one.
    assert_eq!((r.price_usd_per_hour, r.cost_usd), (None, None));
}

#[test]
fn local_run_trains_on_cpu_and_wgpu_and_records_cuda_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = gpubench(&[
        "run",
        "--instance",
        "local",
        "--synthetic",
        "128",
        "--epochs",
        "2",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = runs(dir.path());
    let eps = epochs(dir.path());
    assert_eq!(rows.len(), 6, "{rows:#?}");
    for r in &rows {
        assert_eq!(r.instance, "local");
        assert_eq!(r.batch_size, 16);
        assert_eq!(r.run_id, rows[0].run_id);
        match r.backend.as_str() {
            "cuda" => {
                assert_eq!(r.status, Status::Unavailable);
                assert!(
                    r.error.as_deref().unwrap().contains("libcuda"),
                    "{:?}",
                    r.error
                );
                assert_eq!((r.total_s, r.device_name.as_ref()), (None, None));
            }
            "wgpu" | "cpu" => check_ok_row(r, &eps),
            other => panic!("unexpected backend {other}"),
        }
    }
    let wgpu = rows.iter().find(|r| r.backend == "wgpu").unwrap();
    assert!(
        wgpu.driver.is_some() && wgpu.device_kind.is_some(),
        "{wgpu:?}"
    );
    // One start on every backend, and each curve compared with the cpu run's.
    for w in ["keypoints", "turtle"] {
        let of = |b: &str| {
            rows.iter()
                .find(|r| r.workload == w && r.backend == b)
                .unwrap()
        };
        let (cpu, wgpu) = (of("cpu"), of("wgpu"));
        assert_eq!(cpu.init_sha256.as_ref().map(String::len), Some(16));
        assert_eq!(cpu.init_sha256, wgpu.init_sha256, "{w}");
        assert_eq!(cpu.loss_rel_dev, None, "{w}: the reference");
        assert!(wgpu.loss_rel_dev.is_some_and(|d| d >= 0.0), "{w}");
        assert_eq!(
            (cpu.layer_ops.as_deref(), wgpu.layer_ops.as_deref()),
            (Some("gpubench"), Some("burn"))
        );
    }
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("workload") && stdout.contains("unavailable"),
        "{stdout}"
    );
}

#[test]
fn catalog_instance_prices_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = [
        "run",
        "--instance",
        "p3.2xlarge",
        "--backend",
        "cuda,cpu",
        "--workload",
        "turtle",
        "--synthetic",
        "20",
        "--batch-size",
        "8",
        "--epochs",
        "2",
        "--out",
        out,
    ];
    let o = gpubench(&args);
    assert!(o.status.success(), "{}", text(&o));
    let rows = runs(dir.path());
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(
            (r.price_usd_per_hour, r.price_kind.as_deref()),
            (Some(3.06), Some("on-demand"))
        );
        assert_eq!(
            (r.provider.as_deref(), r.region.as_deref()),
            (Some("aws"), Some("us-east-1"))
        );
        assert_eq!(r.price_date.as_deref(), Some("2026-01-21"));
    }
    // The cpu reference trains first, whatever the order given.
    assert_eq!(
        (rows[0].backend.as_str(), rows[1].backend.as_str()),
        ("cpu", "cuda")
    );
    let cuda = &rows[1];
    assert_eq!(cuda.status, Status::Unavailable);
    assert!(
        cuda.error.as_deref().unwrap().contains("Tesla V100"),
        "{:?}",
        cuda.error
    );
    let cpu = &rows[0];
    assert_eq!(cpu.status, Status::Ok, "{:?}", cpu.error);
    assert_eq!(
        cpu.instance_gpu.as_deref(),
        Some("NVIDIA Tesla V100 SXM2 16GB")
    );
    assert_eq!(cpu.gpu_peak_fp32_tflops, Some(15.7));
    assert!(cpu.achieved_tflops.unwrap() > 0.0);
    assert_eq!(cpu.mfu, None, "a cpu run is not measured against the V100");
    assert_eq!(cpu.cost_usd, Some(3.06 / 3600.0 * cpu.total_s.unwrap()));
    assert_eq!(
        cpu.cost_per_epoch_usd,
        Some(3.06 / 3600.0 * cpu.epoch_s_median.unwrap())
    );
}

/// Starts `gpubench run ARGS --out OUT` on a long keypoints job, sends it `signal` once it has
/// said where it writes (its handler is in place by then), and returns how it ended and what
/// it printed.
fn stopped_run(backends: &str, out: &Path, signal: i32) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args(["run", "--instance", "local", "--backend", backends])
        .args([
            "--workload",
            "keypoints",
            "--synthetic",
            "2000",
            "--epochs",
            "50",
        ])
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains(" -> ") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{said}");
        said += &line;
    }
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = child.wait().unwrap();
    stderr.read_to_string(&mut said).unwrap();
    (status, said)
}

#[test]
fn ctrl_c_keeps_the_run_in_progress_as_an_interrupted_row_and_starts_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let (status, said) = stopped_run("cpu,wgpu", dir.path(), libc::SIGINT);
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(said.contains("interrupted"), "{said}");
    let rows = runs(dir.path());
    assert_eq!(rows.len(), 1, "the wgpu run must not start: {rows:?}");
    let r = &rows[0];
    assert_eq!((r.backend.as_str(), r.status), ("cpu", Status::Interrupted));
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .starts_with("interrupted by Ctrl-C"),
        "{:?}",
        r.error
    );
    // What was measured before the signal is kept; nothing after it is invented.
    assert!(r.device_init_s.is_some());
    assert_eq!(r.eval_s, None);
}

/// A small cpu run into `out`, under `shell` (a prefix such as `ulimit -f 8;`), as bash runs it.
fn small_run_in_shell(shell: &str, out: &Path) -> std::process::Output {
    std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{shell} exec \"$0\" run --instance local --backend cpu --workload keypoints \
             --synthetic 64 --epochs 1 --out \"$1\"",
        ))
        .arg(env!("CARGO_BIN_EXE_gpubench"))
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_disk_that_fills_up_mid_row_leaves_no_torn_row_and_says_what_was_measured() {
    let dir = tempfile::tempdir().unwrap();
    let o = small_run_in_shell("", dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let runs_csv = dir.path().join("runs.csv");
    let before = std::fs::read(&runs_csv).unwrap();
    // Files may not grow past the next KiB: the next row's write fails half-way, as on a full
    // disk (SIGXFSZ ignored, so the write returns EFBIG instead of killing the process).
    let blocks = before.len() / 1024 + 1;
    let o = small_run_in_shell(&format!("trap '' XFSZ; ulimit -f {blocks};"), dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("the row that could not be appended to"),
        "{said}"
    );
    assert!(said.contains(",ok,"), "the measured row is printed: {said}");
    assert_eq!(
        std::fs::read(&runs_csv).unwrap(),
        before,
        "a torn row was left"
    );
    assert_eq!(runs(dir.path()).len(), 1);
}

#[test]
fn rows_that_could_not_be_written_are_refused_before_any_backend_starts() {
    let dir = tempfile::tempdir().unwrap();
    // A link to a device is not a file rows can be appended to (and would be read forever).
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("runs.csv")).unwrap();
    let o = small_run_in_shell("", dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("runs.csv: not a regular file"), "{said}");
    assert!(!said.contains("cpu: "), "a backend started: {said}");
}

#[test]
fn a_picture_that_cannot_be_written_keeps_the_runs_measurements() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pictures"),
        "a file where the folder would go",
    )
    .unwrap();
    let o = small_run_in_shell("", dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("warning: keypoints/cpu b16 #0: no picture"),
        "{}",
        text(&o)
    );
    let rows = runs(dir.path());
    assert_eq!((rows[0].status, &rows[0].artifact), (Status::Ok, &None));
    assert!(rows[0].images_per_s.is_some() && rows[0].val_metric.is_some());
}

#[test]
fn sigterm_keeps_the_run_in_progress_as_interrupted_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let (status, said) = stopped_run("cpu", dir.path(), libc::SIGTERM);
    assert_eq!(status.code(), Some(143), "{said}");
    let rows = runs(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, Status::Interrupted);
}
