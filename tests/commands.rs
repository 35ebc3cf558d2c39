//! `probe`, `instances` and `--help`.

mod common;

use common::{gpubench, text};

#[test]
fn probe_names_every_backend_and_why_cuda_cannot_run() {
    let o = gpubench(&["probe"]);
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
    assert_eq!(s.lines().count(), 1 + catalog.len(), "{s}");
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
