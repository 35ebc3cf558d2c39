//! Facts about the machine itself, read with sysinfo.

use sha2::{Digest, Sha256};
use sysinfo::{CpuRefreshKind, System};

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub os: Option<String>,
    pub cpu_model: String,
    /// Logical CPUs (what the CPU backend's thread pool uses).
    pub cpu_cores: usize,
    pub mem_gib: f64,
    /// A stable, anonymous id of this machine (see [`host_id`]).
    pub host_id: Option<String>,
}

impl Host {
    pub fn read() -> Self {
        let mut sys = System::new();
        sys.refresh_cpu_list(CpuRefreshKind::nothing());
        sys.refresh_memory();
        let cpu_model = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        Self {
            os: System::long_os_version(),
            cpu_model,
            cpu_cores: sys.cpus().len(),
            mem_gib: sys.total_memory() as f64 / (1u64 << 30) as f64,
            host_id: host_id(),
        }
    }
}

/// Where the NVIDIA kernel driver lists its GPUs, one folder each.
pub const NVIDIA_PROC: &str = "/proc/driver/nvidia/gpus";

/// The model of each GPU the NVIDIA driver lists under `root` (its `information` file's
/// `Model:` line, e.g. `Tesla T4`), read without loading any library; empty without the driver.
pub fn nvidia_gpus(root: &std::path::Path) -> Vec<String> {
    let Ok(dirs) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut models: Vec<(std::ffi::OsString, String)> = dirs
        .flatten()
        .filter_map(|d| {
            let info = std::fs::read_to_string(d.path().join("information")).ok()?;
            let model = info
                .lines()
                .find_map(|l| l.strip_prefix("Model:"))?
                .trim()
                .to_string();
            Some((d.file_name(), model))
        })
        .collect();
    models.sort();
    models.into_iter().map(|(_, m)| m).collect()
}

/// The first 12 hex digits of the SHA-256 of the machine id (systemd's `/etc/machine-id`, or
/// D-Bus's copy), else of the host name: the same on every run of one machine, different
/// between machines, and revealing neither. `None` when the machine names itself nowhere.
pub fn host_id() -> Option<String> {
    let id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| System::host_name().filter(|s| !s.is_empty()))?;
    let digest = Sha256::digest(format!("gpubench host {id}"));
    Some(digest.iter().take(6).map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_lists_its_gpus_by_model() {
        let dir = tempfile::tempdir().unwrap();
        for (bus, model) in [("0000:00:05.0", "Tesla T4"), ("0000:00:04.0", "Tesla T4")] {
            let gpu = dir.path().join(bus);
            std::fs::create_dir(&gpu).unwrap();
            let info = format!("Model: \t\t {model}\nIRQ:   \t\t 37\nBus Type:\t PCIe\n");
            std::fs::write(gpu.join("information"), info).unwrap();
        }
        assert_eq!(nvidia_gpus(dir.path()), ["Tesla T4", "Tesla T4"]);
        assert!(nvidia_gpus(&dir.path().join("absent")).is_empty());
    }
}
