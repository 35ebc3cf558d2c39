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
