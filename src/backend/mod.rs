//! Compute backends: each is probed before use, and a backend that cannot start yields a reason,
//! never a crash. Registering a backend is one file plus one line in [`ALL`].

mod cpu;
mod cuda;
pub mod ops;
mod wgpu;

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Result, anyhow};

pub use cpu::keep_freed_memory;
pub use ops::{AdamArgs, AdamStep, LayerOps, TrainBackend};

use crate::train::{Job, Outcome};
use crate::workload::{self, Info, Workload, WorkloadVisitor};

/// Every backend gpubench knows, in the order runs use them.
pub const ALL: &[&dyn ComputeBackend] = &[&cuda::Cuda, &wgpu::Wgpu, &cpu::Cpu];

/// What a probe found: the device a run would use.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub name: String,
    /// `discrete-gpu`, `integrated-gpu`, `virtual-gpu`, `cpu` or `other`.
    pub kind: String,
    pub driver: Option<String>,
    /// The largest buffer a kernel may bind (wgpu's `max_storage_buffer_binding_size`), where
    /// the device has such a limit.
    pub max_buffer_bytes: Option<u64>,
}

impl DeviceInfo {
    /// Why a batch of `batch` images of workload `w` cannot run on this device, if it cannot:
    /// checked up front so an oversized batch is a clear reason, not a panic in a driver thread.
    pub fn check_fits(&self, w: &Info, batch: usize) -> Result<(), String> {
        let need = 4 * batch as u64 * w.largest_activation;
        match self.max_buffer_bytes {
            Some(limit) if need > limit => Err(format!(
                "batch {batch} of {} needs a {:.0} MiB activation buffer; {} binds at most {:.0} MiB \
                 per buffer: use a smaller --batch-size",
                w.name,
                need as f64 / 1048576.0,
                self.name,
                limit as f64 / 1048576.0
            )),
            _ => Ok(()),
        }
    }
}

pub trait ComputeBackend: Sync {
    fn name(&self) -> &'static str;
    /// The device a run would use, or why this backend cannot run here. Must not panic.
    fn probe(&self) -> Result<DeviceInfo, String>;
    /// Trains `job` on this backend's device (call [`run_on`] with the burn backend type).
    fn train(&self, job: &Job) -> Result<Outcome>;
    /// Whether the backend compiles kernels at run time (so a cold cache costs warm-up time).
    fn compiles_kernels(&self) -> bool {
        true
    }
    /// The GEMM TFLOP/s of the device this backend trains on, measured now; `None` where there
    /// is no such microbenchmark or it failed.
    fn measure_peak(&self) -> Option<f64> {
        None
    }
}

/// Whether cubecl's autotune cache already holds results, so the first warm-up of a GPU
/// backend may skip autotuning. cubecl keeps it under the nearest Cargo project's `target/`,
/// or else under the user's cache directory (cubecl-runtime's `CacheConfig::Target`).
pub fn kernel_cache_warm() -> bool {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = cwd
        .ancestors()
        .find(|d| d.join("Cargo.toml").exists())
        .map(|d| d.join("target"))
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache"))
                })
                .map(|c| c.join("cubecl"))
        });
    root.is_some_and(|r| has_files(&r.join("autotune")))
}

fn has_files(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() { has_files(&p) } else { true }
        })
    })
}

pub fn find(name: &str) -> Option<&'static dyn ComputeBackend> {
    ALL.iter().copied().find(|b| b.name() == name)
}

pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|b| b.name()).collect()
}

/// Probes `backend`, turning a panic inside a driver or library into an unavailable reason.
pub fn probe(backend: &dyn ComputeBackend) -> Result<DeviceInfo, String> {
    catch_unwind(AssertUnwindSafe(|| backend.probe()))
        .unwrap_or_else(|p| Err(format!("probe panicked: {}", panic_message(&*p))))
}

/// Runs `job` on `backend`; a panic in burn or a driver becomes an error instead of ending the
/// whole benchmark.
pub fn train(backend: &dyn ComputeBackend, job: &Job) -> Result<Outcome> {
    catch_unwind(AssertUnwindSafe(|| backend.train(job))).unwrap_or_else(|p| {
        Err(anyhow!(
            "{} backend panicked: {}",
            backend.name(),
            panic_message(&*p)
        ))
    })
}

/// Runs `job` with the burn backend `B` on `device`.
pub(crate) fn run_on<B: TrainBackend>(device: &B::Device, job: &Job) -> Result<Outcome> {
    workload::visit(job.workload, job.model, OnDevice::<B> { device, job })
        .ok_or_else(|| anyhow!("unknown workload {:?}", job.workload))
}

struct OnDevice<'a, B: TrainBackend> {
    device: &'a B::Device,
    job: &'a Job<'a>,
}

impl<B: TrainBackend> WorkloadVisitor for OnDevice<'_, B> {
    type Output = Outcome;
    fn visit<W: Workload>(self, w: W) -> Outcome {
        w.run::<B>(self.device, self.job)
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Replaces the default panic report with one line per distinct message: a failing device
/// thread in burn repeats the same panic hundreds of times, and the run records it anyway.
pub fn report_panics_once() {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    std::panic::set_hook(Box::new(|info| {
        let msg = panic_message(info.payload());
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(msg.clone()) {
            let thread = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_string();
            let at = info
                .location()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            eprintln!("panic in thread '{thread}'{at}: {msg}");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_too_big_for_the_device_buffer_limit_is_refused_with_the_numbers() {
        let lavapipe = DeviceInfo {
            name: "llvmpipe".into(),
            kind: "cpu".into(),
            driver: None,
            max_buffer_bytes: Some(128 << 20),
        };
        let turtle = workload::info("turtle", workload::ModelKind::Cnn).unwrap();
        assert_eq!(lavapipe.check_fits(&turtle, 16), Ok(()));
        let err = lavapipe.check_fits(&turtle, 32).unwrap_err();
        assert!(
            err.contains("batch 32 of turtle needs a 141 MiB") && err.contains("128 MiB"),
            "{err}"
        );
        let unlimited = DeviceInfo {
            max_buffer_bytes: None,
            ..lavapipe
        };
        assert_eq!(unlimited.check_fits(&turtle, 4096), Ok(()));
    }

    #[test]
    fn every_backend_is_registered_once() {
        assert_eq!(names(), ["cuda", "wgpu", "cpu"]);
    }
}
