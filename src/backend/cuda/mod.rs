//! burn's CUDA backend (cubecl-cuda over cudarc). burn panics in a runtime thread when libcuda
//! is missing, so the probe checks the libraries with cudarc's non-panicking calls first, then
//! the versions and headers burn's kernels need (`toolkit.rs`).

mod toolkit;

use std::path::PathBuf;

use burn::backend::cuda::CudaDevice;
use burn::backend::{Autodiff, Cuda as BurnCuda};
use cudarc::driver::{CudaContext, sys};

use super::{ComputeBackend, DeviceInfo, TrainOn};
use crate::ops::{AdamStep, LayerOps};
use crate::peak::{self, Devices};
use crate::telemetry::{Gpu, Sensors};

pub struct Cuda;

impl ComputeBackend for Cuda {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn probe(&self) -> Result<DeviceInfo, String> {
        if let Some(why) = peak::cuda::unavailable_reason() {
            return Err(why);
        }
        let count = CudaContext::device_count().map_err(|e| format!("CUDA driver error: {e:?}"))?;
        if count < 1 {
            return Err("the CUDA driver reports no device".into());
        }
        let ctx = CudaContext::new(0).map_err(|e| format!("cannot open CUDA device 0: {e:?}"))?;
        let name = ctx.name().map_err(|e| format!("CUDA device name: {e:?}"))?;
        let (major, minor) = ctx.compute_capability().map_err(|e| format!("{e:?}"))?;
        let mut driver = 0;
        // SAFETY: writes one int; the driver is loaded and initialised above.
        unsafe { sys::cuDriverGetVersion(&mut driver) }
            .result()
            .map_err(|e| format!("CUDA driver version: {e:?}"))?;
        let found = toolkit::Found {
            driver,
            nvrtc: nvrtc_version(),
            toolkit: toolkit::toolkit(std::env::var_os("CUDA_PATH").map(PathBuf::from).as_deref()),
        };
        if let Some(why) = toolkit::reason(&found, toolkit::BINDINGS) {
            return Err(format!("{name}: {why}"));
        }
        Ok(DeviceInfo {
            name,
            kind: "discrete-gpu".into(),
            driver: Some(format!(
                "CUDA {}, sm_{major}{minor}",
                toolkit::version(driver.into())
            )),
            max_buffer_bytes: None,
            count: count as usize,
        })
    }

    fn measure_peak(&self) -> Option<Result<f64, String>> {
        let rows = peak::cuda::measure(Devices::Default, None);
        Some(peak::gemm_peak(&rows, "cuda"))
    }

    /// NVML finds CUDA's device `k` by its PCI bus id: the two number GPUs differently under
    /// `CUDA_VISIBLE_DEVICES` or `CUDA_DEVICE_ORDER`.
    fn telemetry(&self, devices: usize) -> Sensors {
        if let Some(why) = peak::cuda::unavailable_reason() {
            return Sensors::Nothing(why);
        }
        let gpu = |k: usize| pci_bus_id(k).map_or(Gpu::Index(k as u32), Gpu::PciBusId);
        Sensors::Nvidia((0..devices).map(gpu).collect())
    }
}

/// CUDA device `k`'s PCI bus id (`0000:3B:00.0`), if the driver says.
fn pci_bus_id(k: usize) -> Option<String> {
    cudarc::driver::result::init().ok()?;
    let device = cudarc::driver::result::device::get(k as i32).ok()?;
    let mut id = [0 as std::ffi::c_char; 32];
    // SAFETY: the driver writes a NUL-terminated string of at most `len` bytes into `id`.
    unsafe { sys::cuDeviceGetPCIBusId(id.as_mut_ptr(), id.len() as i32, device) }
        .result()
        .ok()?;
    // SAFETY: NUL-terminated, as above.
    let id = unsafe { std::ffi::CStr::from_ptr(id.as_ptr()) };
    Some(id.to_string_lossy().into_owned())
}

impl TrainOn for Cuda {
    type Burn = Autodiff<BurnCuda>;

    fn device(&self, k: usize) -> CudaDevice {
        CudaDevice::new(k)
    }
}

/// NVRTC's (major, minor), or `None` when it does not answer.
fn nvrtc_version() -> Option<(i32, i32)> {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: writes two ints; NVRTC was found loadable by the probe's first check.
    let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    r.result().ok().map(|()| (major, minor))
}

// burn's own kernels for the block and for Adam.
impl LayerOps for BurnCuda {}
impl LayerOps for Autodiff<BurnCuda> {}
impl AdamStep for BurnCuda {}
