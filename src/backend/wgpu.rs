//! burn's wgpu backend: Vulkan on Linux and Windows, Metal on macOS (what cubecl's automatic
//! graphics API picks), including software Vulkan such as Mesa's lavapipe.

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Wgpu as BurnWgpu};

use super::{ComputeBackend, DeviceInfo, TrainOn};
use crate::ops::{AdamStep, LayerOps};
use crate::peak::{self, Devices};

pub struct Wgpu;

/// The API cubecl uses with its automatic choice on this platform.
fn api() -> ::wgpu::Backends {
    if cfg!(target_os = "macos") {
        ::wgpu::Backends::METAL
    } else {
        ::wgpu::Backends::VULKAN
    }
}

/// On a headless Linux machine (no `XDG_RUNTIME_DIR`, no Wayland display), Mesa's implicit
/// device-select Vulkan layer asks Wayland for the default GPU anyway, and libwayland prints
/// `error: XDG_RUNTIME_DIR is invalid or not set` once per instance, for nothing wrong. With
/// no display there is nothing for the layer to ask, so it is switched off (its own
/// `NODEVICE_SELECT` switch); `DRI_PRIME`, the user's choice of GPU, keeps it on.
///
/// # Safety
/// Sets an environment variable: call it before any other thread starts.
pub unsafe fn quiet_headless_vulkan() {
    let unset = |v: &str| std::env::var_os(v).is_none_or(|s| s.is_empty());
    if cfg!(target_os = "linux")
        && unset("XDG_RUNTIME_DIR")
        && unset("WAYLAND_DISPLAY")
        && unset("DRI_PRIME")
        && unset("NODEVICE_SELECT")
    {
        // SAFETY: the caller guarantees no other thread runs yet.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

impl ComputeBackend for Wgpu {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn probe(&self) -> Result<DeviceInfo, String> {
        let instance = ::wgpu::Instance::new(::wgpu::InstanceDescriptor {
            backends: api(),
            ..::wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(api()));
        if adapters.is_empty() {
            return Err(format!(
                "no {api:?} adapter: install a GPU driver with {api:?} support \
                 (without a GPU on Linux: apt-get install mesa-vulkan-drivers libvulkan1)",
                api = api()
            ));
        }
        // The same request cubecl makes for its default device, so the probe names that device.
        let adapter =
            pollster::block_on(instance.request_adapter(&::wgpu::RequestAdapterOptions {
                power_preference: ::wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
            }))
            .map_err(|e| format!("no usable adapter: {e}"))?;
        let info = adapter.get_info();
        let count = adapters
            .iter()
            .filter(|a| a.get_info().device_type == info.device_type)
            .count();
        let kind = match info.device_type {
            ::wgpu::DeviceType::DiscreteGpu => "discrete-gpu",
            ::wgpu::DeviceType::IntegratedGpu => "integrated-gpu",
            ::wgpu::DeviceType::VirtualGpu => "virtual-gpu",
            ::wgpu::DeviceType::Cpu => "cpu",
            ::wgpu::DeviceType::Other => "other",
        };
        Ok(DeviceInfo {
            name: info.name,
            kind: kind.into(),
            driver: Some(
                format!("{:?} {} {}", info.backend, info.driver, info.driver_info)
                    .trim()
                    .to_string(),
            ),
            max_buffer_bytes: Some(adapter.limits().max_storage_buffer_binding_size),
            count,
        })
    }

    fn measure_peak(&self) -> Option<Result<f64, String>> {
        let rows = peak::wgpu::measure(Devices::Default, None);
        Some(peak::gemm_peak(&rows, "wgpu"))
    }
}

impl TrainOn for Wgpu {
    type Burn = Autodiff<BurnWgpu>;

    /// burn numbers adapters per type, so the others follow the default adapter's type.
    fn device(&self, k: usize) -> WgpuDevice {
        if k == 0 {
            return WgpuDevice::DefaultDevice;
        }
        match self.probe().map(|d| d.kind) .as_deref() {
            Ok("integrated-gpu") => WgpuDevice::IntegratedGpu(k),
            Ok("virtual-gpu") => WgpuDevice::VirtualGpu(k),
            Ok("cpu") => WgpuDevice::Cpu,
            _ => WgpuDevice::DiscreteGpu(k),
        }
    }
}

// burn's own kernels for the block and for Adam.
impl LayerOps for BurnWgpu {}
impl LayerOps for Autodiff<BurnWgpu> {}
impl AdamStep for BurnWgpu {}
