//! RAPL package energy from Linux's powercap tree (`intel-rapl:N` zones, on AMD too): one
//! microjoule counter per CPU package, wrapping at its `max_energy_range_uj`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{Counter, Reading, Source};

/// Reads the powercap tree from another folder (a container's bind mount of the host's).
pub const POWERCAP_ENV: &str = "GPUBENCH_POWERCAP";

pub fn root() -> PathBuf {
    std::env::var_os(POWERCAP_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/sys/class/powercap"))
}

/// One source per package zone under `root`, each read once already; or why there are none.
pub fn open(root: &Path) -> Result<Vec<Box<dyn Source>>, String> {
    let entries = std::fs::read_dir(root)
        .map_err(|e| format!("no RAPL counters: {}: {}", root.display(), why(&e)))?;
    let mut zones: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_package(p))
        .collect();
    if zones.is_empty() {
        return Err(format!(
            "no RAPL package zone in {} (this CPU, VM or kernel exposes none)",
            root.display()
        ));
    }
    zones.sort();
    zones
        .into_iter()
        .map(|z| Package::open(&z).map(|p| Box::new(p) as Box<dyn Source>))
        .collect()
}

/// `intel-rapl:0`, not a subzone (`intel-rapl:0:1`, the cores or DRAM inside the package).
fn is_package(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_prefix("intel-rapl:")
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

struct Package {
    name: String,
    energy: PathBuf,
    wraps_at: Option<u64>,
}

impl Package {
    fn open(dir: &Path) -> Result<Self, String> {
        let zone = dir.file_name().unwrap_or_default().to_string_lossy();
        let name = small(&dir.join("name")).map_or(zone.to_string(), |n| n.trim().to_string());
        let p = Self {
            name,
            energy: dir.join("energy_uj"),
            wraps_at: number(&dir.join("max_energy_range_uj")).ok(),
        };
        number(&p.energy)?;
        Ok(p)
    }
}

impl Source for Package {
    fn name(&self) -> String {
        format!("rapl {}", self.name)
    }

    fn read(&mut self) -> Result<Reading, String> {
        let uj = number(&self.energy)?;
        Ok(Reading {
            energy: Some(Counter {
                uj,
                wraps_at: self.wraps_at,
            }),
            ..Reading::default()
        })
    }
}

/// A sysfs value: a few bytes, whatever size the file claims.
fn small(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    File::open(path)?.take(64).read_to_string(&mut text)?;
    Ok(text)
}

fn number(path: &Path) -> Result<u64, String> {
    let text = small(path).map_err(|e| format!("{}: {}", path.display(), why(&e)))?;
    text.trim()
        .parse()
        .map_err(|_| format!("{}: not a counter: {:?}", path.display(), text.trim()))
}

fn why(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::PermissionDenied {
        // Linux made energy_uj root-only in 2020 (the PLATYPUS side channel).
        "permission denied (RAPL counters are root-only on most kernels: run as root, or \
         make energy_uj readable)"
            .into()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::telemetry::Meter;

    /// A powercap tree with package `k`'s zone, a subzone inside it and the control folder.
    fn tree(packages: &[(u64, u64)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("intel-rapl")).unwrap();
        for (k, (uj, range)) in packages.iter().enumerate() {
            let zone = root.path().join(format!("intel-rapl:{k}"));
            fs::create_dir_all(zone.join(format!("intel-rapl:{k}:0"))).unwrap();
            fs::write(zone.join("name"), format!("package-{k}\n")).unwrap();
            fs::write(zone.join("energy_uj"), format!("{uj}\n")).unwrap();
            fs::write(zone.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
            let sub = zone.join(format!("intel-rapl:{k}:0"));
            fs::write(sub.join("name"), "core\n").unwrap();
            fs::write(sub.join("energy_uj"), "1\n").unwrap();
        }
        root
    }

    fn set(root: &Path, k: usize, uj: u64) {
        fs::write(
            root.join(format!("intel-rapl:{k}/energy_uj")),
            uj.to_string(),
        )
        .unwrap();
    }

    #[test]
    fn each_package_is_a_source_and_its_counter_wraps_at_its_range() {
        let root = tree(&[(900_000, 1_000_000), (5_000_000, 262_143_328_850)]);
        let sources = open(root.path()).unwrap();
        let names: Vec<String> = sources.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["rapl package-0", "rapl package-1"]);
        let mut m = Meter::new(Ok(sources), false);
        // Package 0 wraps: 0.9 J → 1.0 J (its range) → 0.3 J is 0.4 J; package 1 adds 2 J.
        set(root.path(), 0, 300_000);
        set(root.path(), 1, 7_000_000);
        m.lap("train", 0.5);
        let s = m.finish("end", 0.5);
        assert_eq!(s.source, "rapl package-0, rapl package-1");
        assert_eq!(s.method, Some("counter"));
        let train = s.phase("train").unwrap();
        assert_eq!(train.energy_j, Some(2.4));
        assert_eq!(
            train.power_max_w.map(|w| (w * 1e6).round() / 1e6),
            Some(4.8)
        );
        assert_eq!((train.temp_max_c, train.reasons()), (None, None));
    }

    #[test]
    fn no_tree_no_zone_or_a_bad_counter_is_a_reason() {
        let missing = open(Path::new("/nonexistent/powercap")).err().unwrap();
        assert!(
            missing.starts_with("no RAPL counters: /nonexistent/powercap: "),
            "{missing}"
        );
        let empty = tempfile::tempdir().unwrap();
        let none = open(empty.path()).err().unwrap();
        assert!(none.starts_with("no RAPL package zone in "), "{none}");
        let root = tree(&[(1, 10)]);
        fs::write(root.path().join("intel-rapl:0/energy_uj"), "lots\n").unwrap();
        let bad = open(root.path()).err().unwrap();
        assert!(
            bad.ends_with("intel-rapl:0/energy_uj: not a counter: \"lots\""),
            "{bad}"
        );
    }

    #[test]
    fn this_machines_counters_count_up_where_it_has_them() {
        let Ok(mut sources) = open(&root()) else {
            return; // none here, or not readable: the row says why (tests/energy.rs)
        };
        let first = sources[0].read().unwrap().energy.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let later = sources[0].read().unwrap().energy.unwrap();
        assert!(
            first.delta(later).is_some_and(|uj| uj > 0),
            "{first:?} {later:?}"
        );
    }

    #[test]
    fn a_counter_readable_by_root_only_says_so() {
        use std::os::unix::fs::PermissionsExt;
        let root = tree(&[(1, 10)]);
        let energy = root.path().join("intel-rapl:0/energy_uj");
        fs::set_permissions(&energy, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(&energy).is_ok() {
            return; // running as root: every file is readable, as the real counters are
        }
        let why = open(root.path()).err().unwrap();
        assert!(
            why.contains("energy_uj: permission denied (RAPL counters are root-only"),
            "{why}"
        );
    }
}
