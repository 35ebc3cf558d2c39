//! Compute backends: each is probed before use, and a backend that cannot start yields a reason,
//! never a crash. Registering a backend is one file plus one line in [`ALL`].

mod cpu;
mod cuda;
mod wgpu;

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Result, anyhow};
use burn::tensor::backend::AutodiffBackend;

use crate::train::{Job, Outcome};
use crate::workload::{self, Workload, WorkloadVisitor};

/// Every backend gpubench knows, in the order runs use them.
pub const ALL: &[&dyn ComputeBackend] = &[&cuda::Cuda, &wgpu::Wgpu, &cpu::Cpu];

/// What a probe found: the device a run would use.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub name: String,
    /// `discrete-gpu`, `integrated-gpu`, `virtual-gpu`, `cpu` or `other`.
    pub kind: String,
    pub driver: Option<String>,
}

pub trait ComputeBackend: Sync {
    fn name(&self) -> &'static str;
    /// The device a run would use, or why this backend cannot run here. Must not panic.
    fn probe(&self) -> Result<DeviceInfo, String>;
    /// Trains `job` on this backend's device (call [`run_on`] with the burn backend type).
    fn train(&self, job: &Job) -> Result<Outcome>;
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
pub(crate) fn run_on<B: AutodiffBackend>(device: &B::Device, job: &Job) -> Result<Outcome> {
    workload::visit(job.workload, OnDevice::<B> { device, job })
        .ok_or_else(|| anyhow!("unknown workload {:?}", job.workload))
}

struct OnDevice<'a, B: AutodiffBackend> {
    device: &'a B::Device,
    job: &'a Job<'a>,
}

impl<B: AutodiffBackend> WorkloadVisitor for OnDevice<'_, B> {
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
