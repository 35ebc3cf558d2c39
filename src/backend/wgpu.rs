//! burn's wgpu backend: Vulkan on Linux and Windows, Metal on macOS (what cubecl's automatic
//! graphics API picks), including software Vulkan such as Mesa's lavapipe.

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Wgpu as BurnWgpu};

use super::{ComputeBackend, DeviceInfo, TrainOn};
use crate::ops::{AdamStep, LayerOps};
use crate::peak::{self, Devices};
use crate::telemetry::{Gpu, Sensors};

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
        let (adapter, adapters) = adapters()?;
        let info = adapter.get_info();
        let count = adapters
            .iter()
            .filter(|a| a.device_type == info.device_type)
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

    /// An NVIDIA adapter is read through NVML (found by its PCI bus id), a CPU adapter such as
    /// lavapipe through RAPL: the CPU does its work. Other vendors' counters are not read.
    fn telemetry(&self, devices: usize) -> Sensors {
        let (adapter, adapters) = match adapters() {
            Ok(a) => a,
            Err(why) => return Sensors::Nothing(why),
        };
        let first = adapter.get_info();
        if first.device_type == ::wgpu::DeviceType::Cpu {
            return Sensors::Cpu;
        }
        if first.vendor != NVIDIA {
            return Sensors::Nothing(format!(
                "{} (vendor {:#06x}): gpubench reads power only from NVIDIA GPUs (NVML) and \
                 CPUs (RAPL)",
                first.name, first.vendor
            ));
        }
        // The run's devices: the default adapter, then the others of its type.
        let others = adapters.into_iter().filter(|a| {
            a.device_type == first.device_type && a.device_pci_bus_id != first.device_pci_bus_id
        });
        let gpus = std::iter::once(first.clone())
            .chain(others)
            .take(devices)
            .enumerate()
            .map(|(k, a)| match a.device_pci_bus_id {
                id if id.is_empty() => Gpu::Index(k as u32),
                id => Gpu::PciBusId(id),
            });
        Sensors::Nvidia(gpus.collect())
    }
}

/// PCI vendor id of NVIDIA.
const NVIDIA: u32 = 0x10de;

/// The adapter cubecl's default device is (the same request cubecl makes), and every adapter
/// of the graphics API.
fn adapters() -> Result<(::wgpu::Adapter, Vec<::wgpu::AdapterInfo>), String> {
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
    let adapter = pollster::block_on(instance.request_adapter(&::wgpu::RequestAdapterOptions {
        power_preference: ::wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
    }))
    .map_err(|e| format!("no usable adapter: {e}"))?;
    Ok((adapter, adapters.iter().map(|a| a.get_info()).collect()))
}

impl TrainOn for Wgpu {
    type Burn = Autodiff<BurnWgpu>;

    /// burn numbers adapters per type, so the others follow the default adapter's type.
    fn device(&self, k: usize) -> WgpuDevice {
        if k == 0 {
            return WgpuDevice::DefaultDevice;
        }
        match self.probe().map(|d| d.kind).as_deref() {
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
