//! NVIDIA GPUs through NVML, loaded at run time (`libnvidia-ml.so.1` comes with the driver):
//! the energy counter on Volta and newer, power, SM clock, temperature, memory and the reasons
//! the clocks are held down.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::{Device, Nvml};

use super::{Counter, Gpu, Reading, Source};

/// NVML is started once per process and lives as long as it: devices borrow it.
static NVML: OnceLock<Result<Nvml, String>> = OnceLock::new();

fn nvml() -> Result<&'static Nvml, String> {
    let started = NVML.get_or_init(|| {
        catch_unwind(Nvml::init)
            .unwrap_or_else(|_| Err(nvml_wrapper::error::NvmlError::Unknown))
            .map_err(|e| format!("NVML did not start ({e}): no NVIDIA driver here?"))
    });
    started.as_ref().map_err(Clone::clone)
}

pub fn open(gpus: &[Gpu]) -> Result<Vec<Box<dyn Source>>, String> {
    let nvml = nvml()?;
    gpus.iter()
        .map(|gpu| {
            let found = match gpu {
                Gpu::PciBusId(id) => nvml.device_by_pci_bus_id(id.as_str()),
                Gpu::Index(k) => nvml.device_by_index(*k),
            };
            let device = found.map_err(|e| format!("NVML has no GPU {gpu:?}: {e}"))?;
            let name = device.name().unwrap_or_else(|_| "NVIDIA GPU".into());
            Ok(Box::new(NvmlGpu { device, name }) as Box<dyn Source>)
        })
        .collect()
}

struct NvmlGpu {
    device: Device<'static>,
    name: String,
}

impl Source for NvmlGpu {
    fn name(&self) -> String {
        format!("nvml {}", self.name)
    }

    fn read(&mut self) -> Result<Reading, String> {
        let d = &self.device;
        let r = catch_unwind(AssertUnwindSafe(|| Reading {
            energy: d.total_energy_consumption().ok().map(|mj| Counter {
                uj: mj.saturating_mul(1000),
                wraps_at: None,
            }),
            power_w: d.power_usage().ok().map(|mw| f64::from(mw) / 1e3),
            sm_clock_mhz: d.clock_info(Clock::SM).ok().map(f64::from),
            temp_c: d.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
            mem_used_mib: d.memory_info().ok().map(|m| m.used as f64 / 1048576.0),
            throttle: d.current_throttle_reasons().ok().map(names),
        }))
        .map_err(|_| "NVML panicked".to_string())?;
        if r == Reading::default() {
            // Every query failed: the GPU fell off the bus, or the driver went away.
            return Err(match d.power_usage() {
                Err(e) => format!("NVML answered nothing: {e}"),
                Ok(_) => "NVML answered nothing".into(),
            });
        }
        Ok(r)
    }
}

/// NVML's reasons by name, as `throttle_reasons` lists them.
fn names(r: ThrottleReasons) -> Vec<&'static str> {
    const NAMED: &[(ThrottleReasons, &str)] = &[
        (ThrottleReasons::GPU_IDLE, "gpu_idle"),
        (
            ThrottleReasons::APPLICATIONS_CLOCKS_SETTING,
            "applications_clocks_setting",
        ),
        (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
        (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
        (ThrottleReasons::SYNC_BOOST, "sync_boost"),
        (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
        (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
        (
            ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN,
            "hw_power_brake_slowdown",
        ),
        (
            ThrottleReasons::DISPLAY_CLOCK_SETTING,
            "display_clock_setting",
        ),
    ];
    NAMED
        .iter()
        .filter(|(flag, _)| r.contains(*flag))
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_driver_nvml_is_a_reason_not_a_panic() {
        match open(&[Gpu::Index(0)]) {
            Ok(sources) => assert_eq!(sources.len(), 1), // a machine with an NVIDIA driver
            Err(why) => {
                assert!(why.starts_with("NVML did not start ("), "{why}");
                let offer = crate::telemetry::offer(&crate::telemetry::Sensors::Nvidia(vec![
                    Gpu::PciBusId("0000:3B:00.0".into()),
                ]));
                assert_eq!(offer, format!("none: {why}"));
            }
        }
    }

    #[test]
    fn throttle_reasons_are_named_not_numbered() {
        let r = ThrottleReasons::SW_POWER_CAP | ThrottleReasons::HW_THERMAL_SLOWDOWN;
        assert_eq!(names(r), ["sw_power_cap", "hw_thermal_slowdown"]);
        assert!(names(ThrottleReasons::NONE).is_empty());
    }
}
