//! burn's CUDA backend (cubecl-cuda over cudarc). burn panics in a runtime thread when libcuda
//! is missing, so the probe checks the libraries with cudarc's non-panicking calls first.

use burn::backend::cuda::CudaDevice;
use burn::backend::{Autodiff, Cuda as BurnCuda};
use cudarc::driver::{CudaContext, sys};

use super::{ComputeBackend, DeviceInfo, TrainOn};
use crate::ops::{AdamStep, LayerOps};
use crate::peak::{self, Devices};

pub struct Cuda;

impl ComputeBackend for Cuda {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn probe(&self) -> Result<DeviceInfo, String> {
        // SAFETY: only tries to dlopen the library and reports whether that worked.
        if !unsafe { sys::is_culib_present() } {
            return Err(
                "no NVIDIA driver: the CUDA driver library (libcuda.so) is not installed".into(),
            );
        }
        // SAFETY: as above, for NVRTC, which burn needs to compile its kernels.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(
                "the NVRTC library (libnvrtc.so) is missing; burn compiles CUDA kernels with it \
                        (install the CUDA toolkit or the nvidia-cuda-nvrtc-cu12 wheel)"
                    .into(),
            );
        }
        let count = CudaContext::device_count().map_err(|e| format!("CUDA driver error: {e:?}"))?;
        if count < 1 {
            return Err("the CUDA driver reports no device".into());
        }
        let ctx = CudaContext::new(0).map_err(|e| format!("cannot open CUDA device 0: {e:?}"))?;
        let name = ctx.name().map_err(|e| format!("CUDA device name: {e:?}"))?;
        let (major, minor) = ctx.compute_capability().map_err(|e| format!("{e:?}"))?;
        let mut version = 0;
        // SAFETY: writes one int; the driver is loaded and initialised above.
        let driver = unsafe { sys::cuDriverGetVersion(&mut version) }
            .result()
            .map(|()| {
                format!(
                    "CUDA {}.{}, sm_{major}{minor}",
                    version / 1000,
                    version % 1000 / 10
                )
            })
            .ok();
        Ok(DeviceInfo {
            name,
            kind: "discrete-gpu".into(),
            driver,
            max_buffer_bytes: None,
        })
    }

    fn measure_peak(&self) -> Option<f64> {
        let rows = peak::cuda::measure(Devices::Default, None);
        peak::peak_gemm_tflops(&rows, "cuda")
    }
}

impl TrainOn for Cuda {
    type Burn = Autodiff<BurnCuda>;

    fn device(&self) -> CudaDevice {
        CudaDevice::new(0)
    }
}

// burn's own kernels for the block and for Adam.
impl LayerOps for BurnCuda {}
impl LayerOps for Autodiff<BurnCuda> {}
impl AdamStep for BurnCuda {}
