//! burn's Flex backend (rayon + SIMD), with the nets' layers (conv → ReLU → max-pool blocks,
//! dense layers) and Adam's update on gpubench's own kernels: through burn's generic ops Flex
//! trains these nets at a fifth of TensorFlow's speed (issue 8; the README has the numbers).

mod adam;
mod block;
mod choice;
mod conv;
mod dense;
mod flex;
mod gemm;
mod layers;

use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};

pub use choice::{CpuOps, cpu_ops, perturb_own_conv, set_cpu_ops};

use super::{ComputeBackend, DeviceInfo, TrainOn};
use crate::instance::host::Host;
use crate::telemetry::Sensors;

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
            count: 1,
        })
    }

    /// Flex runs precompiled Rust kernels.
    fn compiles_kernels(&self) -> bool {
        false
    }

    fn layer_ops(&self) -> &'static str {
        cpu_ops().name()
    }

    /// Replicas on the cpu share its cores: they test the data-parallel path (and show its
    /// overhead), they cannot speed training up.
    fn shares_device(&self) -> bool {
        true
    }

    fn telemetry(&self, _devices: usize) -> Sensors {
        Sensors::Cpu
    }
}

impl TrainOn for Cpu {
    type Burn = Autodiff<Flex>;

    fn device(&self, _k: usize) -> FlexDevice {
        FlexDevice
    }

    fn before_training(&self) {
        keep_freed_memory();
    }
}

/// Keeps freed memory in the process's heap instead of handing it back to the OS. A training
/// step frees and allocates the same tens of megabytes every time (activations, gradients,
/// Adam's moments), and glibc returns each block over 128 KiB with `munmap`, so every step
/// paid its page faults again: keypoints at batch 32 went from 120 to 165 images/s without
/// them. 32 MiB is the largest threshold glibc takes.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is called before the run allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
