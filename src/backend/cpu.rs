//! burn's Flex backend: the fastest CPU path in burn 0.21 (rayon + SIMD).

use anyhow::Result;
use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};

use super::{ComputeBackend, DeviceInfo, run_on};
use crate::instance::host::Host;
use crate::train::{Job, Outcome};

pub struct Cpu;

impl ComputeBackend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn probe(&self) -> Result<DeviceInfo, String> {
        let host = Host::read();
        Ok(DeviceInfo {
            name: host.cpu_model,
            kind: "cpu".into(),
            driver: None,
            max_buffer_bytes: None,
        })
    }

    fn train(&self, job: &Job) -> Result<Outcome> {
        run_on::<Autodiff<Flex>>(&FlexDevice, job)
    }

    /// Flex runs precompiled Rust kernels.
    fn compiles_kernels(&self) -> bool {
        false
    }
}
