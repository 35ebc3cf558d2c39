//! The one place a burn backend type meets a workload type: the backend named by the command
//! line picks its burn type and device, the workload named by the job its model, and the two
//! meet in [`super::train`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Result, anyhow};
use burn::module::AutodiffModule;
use burn::prelude::Backend;

use super::{Job, Outcome};
use crate::backend::{self, BackendVisitor, ComputeBackend, DeviceInfo, TrainOn};
use crate::error::panic_message;
use crate::ops::TrainBackend;
use crate::workload::{self, Info, OnBackend, Workload, WorkloadVisitor};

/// Trains `job` on `backend`; a panic in burn or a driver becomes an error instead of ending the
/// whole benchmark.
pub fn run(backend: &dyn ComputeBackend, job: &Job) -> Result<Outcome> {
    let name = backend.name();
    catch_unwind(AssertUnwindSafe(|| {
        backend::visit(name, PickModel(job)).ok_or_else(|| anyhow!("unknown backend {name:?}"))?
    }))
    .unwrap_or_else(|p| Err(anyhow!("{name} backend panicked: {}", panic_message(&*p))))
}

/// Why `n` replicas cannot train on `backend`'s devices, if they cannot. Replicas sharing a
/// device are held to one per core: each is a thread with a model, and more cannot help.
pub fn replicas_fit(
    backend: &dyn ComputeBackend,
    device: &DeviceInfo,
    n: usize,
    cores: usize,
) -> Result<(), String> {
    if backend.shares_device() {
        if n <= cores.max(1) {
            return Ok(());
        }
        return Err(format!(
            "--devices {n}: {}'s replicas share this machine's {cores} cores, one per core",
            backend.name()
        ));
    }
    if n <= device.count {
        return Ok(());
    }
    Err(format!(
        "--devices {n}: {} sees {} {} device{}",
        backend.name(),
        device.count,
        device.name,
        if device.count == 1 { "" } else { "s" }
    ))
}

/// Why a batch of `batch` images of workload `w` cannot run on `device`, if it cannot: checked
/// up front so an oversized batch is a clear reason, not a panic in a driver thread.
pub fn fits(device: &DeviceInfo, w: &Info, batch: usize) -> Result<(), String> {
    let need = 4 * batch as u64 * w.largest_activation;
    match device.max_buffer_bytes {
        Some(limit) if need > limit => Err(format!(
            "batch {batch} of {} needs a {:.0} MiB activation buffer; {} binds at most {:.0} MiB \
             per buffer: use a smaller --batch-size",
            w.name,
            need as f64 / 1048576.0,
            device.name,
            limit as f64 / 1048576.0
        )),
        _ => Ok(()),
    }
}

/// With the backend's type known, finds the job's workload.
struct PickModel<'a>(&'a Job<'a>);

impl BackendVisitor for PickModel<'_> {
    type Output = Result<Outcome>;
    fn visit<T: TrainOn>(self, backend: &T) -> Result<Outcome> {
        let job = self.0;
        backend.before_training();
        let devices: Vec<_> = (0..job.spread.devices).map(|k| backend.device(k)).collect();
        let on = OnDevice::<T::Burn> {
            devices: &devices,
            job,
        };
        workload::visit(job.workload, job.model, on)
            .ok_or_else(|| anyhow!("unknown workload {:?}", job.workload))
    }
}

/// With both types known, trains.
struct OnDevice<'a, B: Backend> {
    devices: &'a [B::Device],
    job: &'a Job<'a>,
}

impl<B: TrainBackend> WorkloadVisitor for OnDevice<'_, B> {
    type Output = Outcome;
    fn visit<W: Workload>(self, w: W) -> Outcome {
        w.on::<B, _>(self)
    }
}

impl<B: TrainBackend> OnBackend<B> for OnDevice<'_, B> {
    type Output = Outcome;
    fn run<W: Workload>(self, w: W) -> Outcome
    where
        W::Model<B>: AutodiffModule<B, InnerModule = W::Model<B::InnerBackend>>,
    {
        super::train::<B, W>(w, self.devices, self.job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::ModelKind;

    #[test]
    fn a_batch_too_big_for_the_device_buffer_limit_is_refused_with_the_numbers() {
        let lavapipe = DeviceInfo {
            name: "llvmpipe".into(),
            kind: "cpu".into(),
            driver: None,
            max_buffer_bytes: Some(128 << 20),
            count: 1,
        };
        let turtle = workload::info("turtle", ModelKind::Cnn).unwrap();
        assert_eq!(fits(&lavapipe, &turtle, 16), Ok(()));
        let err = fits(&lavapipe, &turtle, 32).unwrap_err();
        assert!(
            err.contains("batch 32 of turtle needs a 141 MiB") && err.contains("128 MiB"),
            "{err}"
        );
        let unlimited = DeviceInfo {
            max_buffer_bytes: None,
            ..lavapipe
        };
        assert_eq!(fits(&unlimited, &turtle, 4096), Ok(()));
    }
}
