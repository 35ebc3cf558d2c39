//! `probe`, `instances` and `--help`.

mod common;

use common::{gpubench, text};

#[test]
fn probe_names_every_backend_and_why_cuda_cannot_run() {
    // A powercap tree with one package, so the cpu's telemetry line is known.
    let powercap = tempfile::tempdir().unwrap();
    let zone = powercap.path().join("intel-rapl:0");
    std::fs::create_dir(&zone).unwrap();
    std::fs::write(zone.join("name"), "package-0\n").unwrap();
    std::fs::write(zone.join("energy_uj"), "12345\n").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .arg("probe")
        .env("GPUBENCH_POWERCAP", powercap.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    let line = |b: &str| {
        s.lines()
            .find(|l| l.starts_with(b))
            .unwrap_or_else(|| panic!("no {b} line in\n{s}"))
            .to_string()
    };
    assert!(line("cpu").contains("available"));
    if std::path::Path::new("/dev/nvidia0").exists() {
        assert!(line("cuda").contains("available"));
    } else {
        assert!(
            line("cuda").contains("unavailable") && line("cuda").contains("libcuda"),
            "{s}"
        );
    }
    // What each backend's devices offer: the cpu reads the package counter, and a backend
    // that cannot run says why it reads nothing.
    let telemetry: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.starts_with("telemetry (power and energy per phase"))
        .take(4)
        .collect();
    assert_eq!(telemetry.len(), 4, "{s}");
    assert!(
        telemetry.contains(&"cpu     rapl package-0: energy counter"),
        "{s}"
    );
    if !std::path::Path::new("/dev/nvidia0").exists() {
        assert!(
            telemetry[1].starts_with("cuda    none: no NVIDIA driver"),
            "{s}"
        );
    }
}

#[test]
fn a_healthy_headless_machine_prints_no_error_lines() {
    // No display and no XDG_RUNTIME_DIR, as on a cloud instance or in a container: probing
    // Vulkan must not make libwayland print `error: XDG_RUNTIME_DIR is invalid or not set`.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .arg("probe")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("NODEVICE_SELECT")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn instances_lists_the_catalog_with_price_dates() {
    let o = gpubench(&["instances"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    let p3 = s
        .lines()
        .find(|l| l.starts_with("p3.2xlarge"))
        .expect("p3.2xlarge listed");
    assert!(
        p3.contains("3.0600") && p3.contains("2026-01-21") && p3.contains("retired"),
        "{p3}"
    );
    let catalog = gpubench::instance::catalog::all().unwrap();
    // The table, then a blank line before what the sources are.
    let table = s.split("\n\n").next().unwrap();
    assert_eq!(table.lines().count(), 1 + catalog.len(), "{s}");
    for i in &catalog {
        assert!(
            s.lines().any(|l| l.starts_with(&format!("{} ", i.name))),
            "{} missing",
            i.name
        );
    }
}

#[test]
fn help_shows_examples() {
    let o = gpubench(&["run", "--help"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("Examples:") && s.contains("--instance local"),
        "{s}"
    );
}

#[test]
fn price_prints_the_cost_of_seconds_on_an_instance() {
    let o = gpubench(&["price", "--instance", "g5.xlarge", "--seconds", "1800"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success()
            && s.contains("1.006 USD/h (on-demand, price of 2026-01-21) = 0.503000 USD"),
        "{s}"
    );
    let spot = gpubench(&[
        "price",
        "--instance",
        "g5.xlarge",
        "--seconds",
        "3600",
        "--spot",
    ]);
    assert!(
        String::from_utf8_lossy(&spot.stdout).contains("= 0.451000 USD"),
        "{}",
        text(&spot)
    );
    let bad = gpubench(&["price", "--instance", "p3.2xlarge", "--seconds", "-5"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    let no_spot = gpubench(&[
        "price",
        "--instance",
        "p3.2xlarge",
        "--seconds",
        "5",
        "--spot",
    ]);
    assert_eq!(no_spot.status.code(), Some(2), "{}", text(&no_spot));
}

#[test]
fn instances_formats_and_provider_filter() {
    let o = gpubench(&["instances", "--provider", "azure", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert_eq!(s.matches("\"instance\"").count(), 3, "{s}");
    assert!(
        s.contains("Standard_NC4as_T4_v3") && !s.contains("g5.xlarge"),
        "{s}"
    );
    let csv = gpubench(&["instances", "--provider", "aws", "--format", "csv"]);
    let s = String::from_utf8_lossy(&csv.stdout);
    assert!(s.starts_with("instance,provider,region,"), "{s}");
    assert_eq!(s.lines().count(), 1 + 16);
    assert!(
        s.lines()
            .any(|l| l.starts_with("g5.xlarge,aws,us-east-1,4,16.0,NVIDIA A10G,1,35.0,")),
        "{s}"
    );
}
