//! Compute backends: each is probed before use, and a backend that cannot start yields a reason,
//! never a crash. A backend knows its device and the ops it runs on its own kernels, not the
//! training loop. Registering one is one file plus one line in the `registry!` call below.

mod cache;

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::tensor::backend::BackendTypes;

pub use cache::kernel_cache_warm;
pub use cpu::{CpuOps, keep_freed_memory, perturb_own_conv, set_cpu_ops};

use crate::error::panic_message;
use crate::ops::TrainBackend;
use crate::telemetry::Sensors;

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
    /// Devices like it the backend sees: what `--devices all` trains on.
    pub count: usize,
}

/// A backend as the command line sees it: a name, a probe, facts about its kernels.
pub trait ComputeBackend: Sync {
    fn name(&self) -> &'static str;
    /// The device a run would use, or why this backend cannot run here. Must not panic.
    fn probe(&self) -> Result<DeviceInfo, String>;
    /// Whether the backend compiles kernels at run time (so a cold cache costs warm-up time).
    fn compiles_kernels(&self) -> bool {
        true
    }
    /// Whose kernels the nets' layers run on here (the `layer_ops` column): `burn` for burn's
    /// own ops, `gpubench` for gpubench's.
    fn layer_ops(&self) -> &'static str {
        "burn"
    }
    /// The GEMM TFLOP/s of the device this backend trains on, measured now, or why there is
    /// no number; `None` for a backend without such a microbenchmark.
    fn measure_peak(&self) -> Option<Result<f64, String>> {
        None
    }
    /// Whether several replicas may share one device (the cpu's cores), so `--devices N`
    /// may exceed the devices the probe counted.
    fn shares_device(&self) -> bool {
        false
    }
    /// Where the telemetry of a run on the first `devices` devices is read (power, energy,
    /// clocks), or why it cannot be. Must not panic.
    fn telemetry(&self, devices: usize) -> Sensors;
}

/// A backend as training sees it: the burn backend type and the device to train on.
pub trait TrainOn: ComputeBackend {
    type Burn: TrainBackend;
    /// The `k`-th device the probe counted; 0 is the one a one-device run trains on.
    fn device(&self, k: usize) -> <Self::Burn as BackendTypes>::Device;
    /// Called on the training thread before a run starts.
    fn before_training(&self) {}
}

/// Something done with a backend whose burn type is known only at run time.
pub trait BackendVisitor {
    type Output;
    fn visit<T: TrainOn>(self, backend: &T) -> Self::Output;
}

/// `file: Type` declares the backend's module (its file in this folder) and registers `Type`.
macro_rules! registry {
    ($($file:ident: $backend:ident),+ $(,)?) => {
        $(mod $file;)+

        /// Every backend gpubench knows, in the order runs use them.
        pub const ALL: &[&dyn ComputeBackend] = &[$(&$file::$backend),+];

        /// Calls `v` with the backend called `name`, or returns `None` when there is none.
        pub fn visit<V: BackendVisitor>(name: &str, v: V) -> Option<V::Output> {
            $(if $file::$backend.name() == name {
                return Some(v.visit(&$file::$backend));
            })+
            None
        }
    };
}

registry! {
    cuda: Cuda,
    wgpu: Wgpu,
    cpu: Cpu,
}

pub use self::wgpu::quiet_headless_vulkan;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_is_registered_once() {
        let all = names();
        let known: Vec<&str> = ["cuda", "wgpu", "cpu"]
            .into_iter()
            .filter(|n| all.contains(n))
            .collect();
        assert_eq!(known, ["cuda", "wgpu", "cpu"], "{all:?}");
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "a name registered twice: {all:?}");
        struct Name;
        impl BackendVisitor for Name {
            type Output = &'static str;
            fn visit<T: TrainOn>(self, b: &T) -> &'static str {
                b.name()
            }
        }
        for name in names() {
            assert_eq!(visit(name, Name), Some(name));
        }
        assert_eq!(visit("rocm", Name), None);
    }
}
