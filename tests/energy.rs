//! Telemetry in a real run: energy from a RAPL counter (a fake powercap tree whose counter a
//! thread advances and wraps, standing in for the CPU's), and empty fields with the reason
//! where there is nothing to read. The sampler's arithmetic has unit tests in
//! `src/telemetry/`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use common::{runs, text};
use gpubench::record::{RunRow, SampleRow, Status};

/// The counter wraps at 1.5 J. The 3-epoch run below adds more than twice that even on a fast
/// machine (CI's wrote 2.6 J in 2 epochs), so it crosses a wrap more than once, while reads
/// 100 ms apart see about 0.4 J between them, well under one range: no wrap is ambiguous.
const RANGE_UJ: u64 = 1_500_000;

/// Advances `intel-rapl:0/energy_uj` under `root` by 5 mJ a millisecond (about 4 W), wrapping
/// at [`RANGE_UJ`], until `stop`; returns the microjoules it added in all.
fn counter(root: &Path, stop: Arc<AtomicBool>, added: Arc<AtomicU64>) -> thread::JoinHandle<()> {
    let zone = root.join("intel-rapl:0");
    fs::create_dir_all(zone.join("intel-rapl:0:0")).unwrap();
    fs::write(zone.join("name"), "package-0\n").unwrap();
    fs::write(zone.join("max_energy_range_uj"), format!("{RANGE_UJ}\n")).unwrap();
    fs::write(zone.join("energy_uj"), "0\n").unwrap();
    thread::spawn(move || {
        let mut uj = 0;
        while !stop.load(Ordering::SeqCst) {
            uj = (uj + 5000) % RANGE_UJ;
            added.fetch_add(5000, Ordering::SeqCst);
            // Replaced whole, as sysfs reads are: a reader never sees half a number.
            fs::write(zone.join("next"), uj.to_string()).unwrap();
            fs::rename(zone.join("next"), zone.join("energy_uj")).unwrap();
            thread::sleep(Duration::from_millis(1));
        }
    })
}

fn cpu_run(out: &Path, powercap: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args([
            "run",
            "--instance",
            "local",
            "--backend",
            "cpu",
            "--workload",
            "keypoints",
        ])
        .args(["--synthetic", "128", "--epochs", "3", "--out"])
        .arg(out)
        .args(extra)
        .env("GPUBENCH_POWERCAP", powercap)
        .output()
        .unwrap()
}

fn samples(dir: &Path) -> Vec<SampleRow> {
    csv::Reader::from_path(dir.join("samples.csv"))
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_cpu_run_with_a_rapl_counter_records_its_energy_and_joules_per_image() {
    let dir = tempfile::tempdir().unwrap();
    let (stop, added) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let powercap = dir.path().join("powercap");
    let writer = counter(&powercap, Arc::clone(&stop), Arc::clone(&added));
    let out = dir.path().join("out");
    let o = cpu_run(&out, &powercap, &["--keep-samples"]);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let rows = runs(&out);
    let r = &rows[0];
    assert_eq!(r.status, Status::Ok);
    assert_eq!(
        (r.energy_source.as_deref(), r.energy_method.as_deref()),
        (Some("rapl package-0"), Some("counter"))
    );
    let (warmup, train, total) = (
        r.warmup_energy_j.unwrap(),
        r.train_energy_j.unwrap(),
        r.total_energy_j.unwrap(),
    );
    // Every wrap was crossed: nothing went missing, and nothing was counted the writer did not add.
    let written = added.load(Ordering::SeqCst) as f64 / 1e6;
    assert!(
        warmup > 0.0 && train > 0.0 && warmup + train <= total,
        "{r:?}"
    );
    assert!(
        total > RANGE_UJ as f64 / 1e6 && total <= written,
        "{total} of {written} J"
    );
    // Images per joule divides the steady images (images/s × train_s) by the steady joules.
    let steady_images = (r.images_per_s.unwrap() * r.train_s.unwrap()).round();
    assert_eq!(steady_images, 272.0); // (3 epochs × 6 steps − the warm-up step) × 16
    assert_eq!(r.joules_per_image, Some(train / steady_images));
    let mean = r.power_mean_w.unwrap();
    assert!(
        (mean - train / r.train_s.unwrap()).abs() < 0.05 * mean,
        "{r:?}"
    );
    // A CPU counter has no clock, temperature or throttle reasons: those stay empty.
    assert_eq!(
        (r.clock_sm_mhz_mean, r.temp_max_c, r.mem_used_max_mib),
        (None, None, None)
    );
    assert_eq!(r.throttle_reasons, None);

    // The readings, phase by phase; the last is the run's whole energy.
    let s = samples(&out);
    assert!(s.iter().all(|x| x.run_id == r.run_id && x.backend == "cpu"));
    let phases: Vec<&str> = s.iter().map(|x| x.phase.as_str()).collect();
    for p in [
        "device_init",
        "data_load",
        "model_init",
        "warmup",
        "train",
        "eval",
        "end",
    ] {
        assert!(phases.contains(&p), "{p} missing from {phases:?}");
    }
    assert!(s.windows(2).all(|w| w[0].t_s <= w[1].t_s));
    assert_eq!(
        s.last().unwrap().energy_j.map(|j| (j * 1e6).round() / 1e6),
        Some(total)
    );

    // The report puts images per joule beside the cost, at the kWh price given, and draws the
    // power the readings kept.
    let o = Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args(["report", "--kwh-price", "0.2", "--in"])
        .arg(&out)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("### Energy (energy at $0.2/kWh from --kwh-price)"),
        "{md}"
    );
    let images_per_j = format!("{:.2}", 1.0 / r.joules_per_image.unwrap());
    let row = md
        .lines()
        .find(|l| l.contains("| rapl package-0 |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        row.starts_with("| local | cpu | 16 | rapl package-0 | "),
        "{row}"
    );
    assert!(row.contains(&images_per_j[..3]), "{images_per_j} in {row}");
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Power over a run&#39;s timeline"));
    assert!(
        !html.contains("No readings were kept"),
        "the power chart is drawn"
    );
}

#[test]
fn without_a_counter_the_energy_fields_are_empty_and_the_row_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = cpu_run(&out, &dir.path().join("no-powercap"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let r: &RunRow = &runs(&out)[0];
    assert_eq!(r.status, Status::Ok);
    let source = r.energy_source.as_deref().unwrap();
    assert!(source.starts_with("none: no RAPL counters: "), "{source}");
    assert!(source.contains("no-powercap"), "{source}");
    assert_eq!(
        (
            r.energy_method.as_ref(),
            r.train_energy_j,
            r.total_energy_j,
            r.joules_per_image
        ),
        (None, None, None, None)
    );
    assert_eq!((r.power_mean_w, r.power_max_w), (None, None));
    // The run is otherwise what it always was.
    assert!(r.images_per_s.is_some() && r.val_metric.is_some());
    assert!(!out.join("samples.csv").exists());
}
