//! Facts about the machine itself, read with sysinfo.

use sysinfo::{CpuRefreshKind, System};

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub os: Option<String>,
    pub cpu_model: String,
    /// Logical CPUs (what the CPU backend's thread pool uses).
    pub cpu_cores: usize,
    pub mem_gib: f64,
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
        }
    }
}
