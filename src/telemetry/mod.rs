//! Power, energy, clocks, temperature and throttling of the devices a run trains on, read on a
//! thread of its own beside every phase: NVML on NVIDIA GPUs, RAPL on the CPU's packages. A
//! device that offers none leaves the fields empty with the reason: telemetry never fails a run.

#[cfg(test)]
mod fake;
mod meter;
mod nvml;
mod rapl;
mod sampler;

pub use meter::{Meter, Sample, Stats, Summary};
pub use rapl::POWERCAP_ENV;
pub use sampler::Sampler;

/// One reading of one device. Every field is optional: devices offer different subsets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub energy: Option<Counter>,
    pub power_w: Option<f64>,
    pub sm_clock_mhz: Option<f64>,
    pub temp_c: Option<f64>,
    pub mem_used_mib: Option<f64>,
    /// Why the clocks are held down right now, by name (NVML's reasons, e.g. `sw_power_cap`);
    /// `None` where the device cannot say.
    pub throttle: Option<Vec<&'static str>>,
}

/// A cumulative energy counter in microjoules, and the value it wraps at, if it wraps (RAPL's
/// `max_energy_range_uj`; NVML's 64-bit millijoule counter never does in practice).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counter {
    pub uj: u64,
    pub wraps_at: Option<u64>,
}

impl Counter {
    /// Microjoules from `self` to `later`, across one wrap where the range is known; `None`
    /// when the counter went back without a known range (a reset: nothing can be said).
    pub fn delta(self, later: Counter) -> Option<u64> {
        if later.uj >= self.uj {
            return Some(later.uj - self.uj);
        }
        let range = later.wraps_at.filter(|&r| r >= self.uj)?;
        Some(range - self.uj + later.uj)
    }
}

/// One device's telemetry.
pub trait Source: Send {
    /// What it reads, as `energy_source` names it: `nvml NVIDIA H200`, `rapl package-0`.
    fn name(&self) -> String;
    fn read(&mut self) -> Result<Reading, String>;
}

/// Which devices a run's telemetry reads, as the backend that trains on them knows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Sensors {
    /// The CPU packages' RAPL energy counters.
    Cpu,
    /// NVIDIA GPUs through NVML.
    Nvidia(Vec<Gpu>),
    /// Nothing can be read, and why.
    Nothing(String),
}

/// An NVIDIA GPU as NVML finds it: by PCI bus id where the backend knows it (CUDA's and NVML's
/// numbering differ under `CUDA_VISIBLE_DEVICES`), else by NVML's index.
#[derive(Debug, Clone, PartialEq)]
pub enum Gpu {
    PciBusId(String),
    Index(u32),
}

/// The sources of `sensors`, or why there are none.
pub fn open(sensors: &Sensors) -> Result<Vec<Box<dyn Source>>, String> {
    match sensors {
        Sensors::Cpu => rapl::open(&rapl::root()),
        Sensors::Nvidia(gpus) => nvml::open(gpus),
        Sensors::Nothing(why) => Err(why.clone()),
    }
}

/// What `sensors` offer, for `gpubench probe`: its sources and the fields one reading of
/// each filled, or why there is nothing.
pub fn offer(sensors: &Sensors) -> String {
    let mut sources = match open(sensors) {
        Ok(s) => s,
        Err(why) => return format!("none: {why}"),
    };
    let each: Vec<String> = sources
        .iter_mut()
        .map(|s| match s.read() {
            Ok(r) => format!("{}: {}", s.name(), fields(&r).join(", ")),
            Err(why) => format!("{}: no reading: {why}", s.name()),
        })
        .collect();
    each.join("; ")
}

/// The names of the fields a reading filled.
fn fields(r: &Reading) -> Vec<&'static str> {
    let named = [
        (r.energy.is_some(), "energy counter"),
        (r.power_w.is_some(), "power"),
        (r.sm_clock_mhz.is_some(), "SM clock"),
        (r.temp_c.is_some(), "temperature"),
        (r.mem_used_mib.is_some(), "memory used"),
        (r.throttle.is_some(), "throttle reasons"),
    ];
    named.into_iter().filter(|f| f.0).map(|f| f.1).collect()
}

#[cfg(test)]
mod tests {
    use super::Counter;

    #[test]
    fn a_counter_delta_crosses_one_wrap_when_the_range_is_known() {
        let c = |uj, wraps_at| Counter { uj, wraps_at };
        assert_eq!(c(100, None).delta(c(250, None)), Some(150));
        assert_eq!(c(900, Some(1000)).delta(c(50, Some(1000))), Some(150));
        // Went back with no range: a reset, not a wrap.
        assert_eq!(c(900, None).delta(c(50, None)), None);
        // A range below the old value cannot be this counter's.
        assert_eq!(c(900, Some(800)).delta(c(50, Some(800))), None);
    }
}
