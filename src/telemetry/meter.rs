//! The sums behind the telemetry columns. Every device is read at each phase boundary and by
//! the sampler in between; energy comes from counter deltas where a device has a counter, else
//! from its power readings integrated over time (trapezoids), and is folded into one [`Stats`]
//! per phase. Time is passed in (seconds since the run began), so the arithmetic is tested
//! without a clock.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Reading, Source};

/// What one phase (or a whole run) measured, over every device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub seconds: f64,
    /// `None` when some device's energy over the phase is unknown: a boundary read failed, or
    /// the device has neither a counter nor power readings.
    pub energy_j: Option<f64>,
    /// The largest power of all devices together at one reading.
    pub power_max_w: Option<f64>,
    clock_sum: f64,
    clock_n: usize,
    pub temp_max_c: Option<f64>,
    pub mem_used_max_mib: Option<f64>,
    pub throttle: BTreeSet<&'static str>,
    /// Whether any device said why its clocks were (or were not) held down.
    throttle_read: bool,
}

impl Stats {
    /// The reasons seen, `;`-separated; `none` when a device was asked and said none.
    pub fn reasons(&self) -> Option<String> {
        if self.throttle.is_empty() {
            return self.throttle_read.then(|| "none".to_string());
        }
        let names: Vec<&str> = self.throttle.iter().copied().collect();
        Some(names.join(";"))
    }

    /// Mean power: the energy over the time it took.
    pub fn power_mean_w(&self) -> Option<f64> {
        let e = self.energy_j?;
        (self.seconds > 0.0).then(|| e / self.seconds)
    }

    pub fn clock_sm_mhz_mean(&self) -> Option<f64> {
        (self.clock_n > 0).then(|| self.clock_sum / self.clock_n as f64)
    }

    fn merge(&mut self, o: &Stats) {
        self.seconds += o.seconds;
        self.energy_j = self.energy_j.zip(o.energy_j).map(|(a, b)| a + b);
        self.power_max_w = max(self.power_max_w, o.power_max_w);
        self.clock_sum += o.clock_sum;
        self.clock_n += o.clock_n;
        self.temp_max_c = max(self.temp_max_c, o.temp_max_c);
        self.mem_used_max_mib = max(self.mem_used_max_mib, o.mem_used_max_mib);
        self.throttle.extend(&o.throttle);
        self.throttle_read |= o.throttle_read;
    }

    fn add(&mut self, r: &Reading) {
        if let Some(c) = r.sm_clock_mhz {
            self.clock_sum += c;
            self.clock_n += 1;
        }
        self.temp_max_c = max(self.temp_max_c, r.temp_c);
        self.mem_used_max_mib = max(self.mem_used_max_mib, r.mem_used_mib);
        self.throttle.extend(r.throttle.iter().flatten());
        self.throttle_read |= r.throttle.is_some();
    }
}

fn max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// One reading of all devices together, kept for `samples.csv` (`--keep-samples`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Seconds since the run began.
    pub t_s: f64,
    pub phase: &'static str,
    /// Summed over the devices, when every device gave one.
    pub power_w: Option<f64>,
    /// Joules since the run began, summed over the devices, while every device's is known.
    pub energy_j: Option<f64>,
    pub sm_clock_mhz: Option<f64>,
    pub temp_c: Option<f64>,
    pub mem_used_mib: Option<f64>,
    pub throttle: Vec<&'static str>,
}

/// What the telemetry of one run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// The `energy_source` column: the devices read, or `none: ` and why nothing was.
    pub source: String,
    /// `counter` or `power-integral`; `None` when no energy could be measured.
    pub method: Option<&'static str>,
    /// Each phase's stats, in the order the phases first closed.
    pub phases: Vec<(&'static str, Stats)>,
    pub samples: Vec<Sample>,
}

impl Summary {
    pub fn off(why: &str) -> Self {
        Self {
            source: format!("none: {why}"),
            ..Self::default()
        }
    }

    pub fn phase(&self, name: &str) -> Option<&Stats> {
        self.phases.iter().find(|p| p.0 == name).map(|p| &p.1)
    }

    /// The phases named, merged; `None` when none of them ran.
    pub fn over(&self, names: &[&str]) -> Option<Stats> {
        let mut it = self.phases.iter().filter(|p| names.contains(&p.0));
        let mut all = it.next()?.1.clone();
        it.for_each(|p| all.merge(&p.1));
        Some(all)
    }

    /// Every phase merged: the whole run.
    pub fn total(&self) -> Option<Stats> {
        let names: Vec<&str> = self.phases.iter().map(|p| p.0).collect();
        self.over(&names)
    }
}

struct Device {
    source: Box<dyn Source>,
    name: String,
    last: Option<(f64, Reading)>,
    /// Joules of the open phase, and since the run began; `None` once an interval could not
    /// be measured.
    phase_j: Option<f64>,
    total_j: Option<f64>,
    /// Whether the read at the open phase's first boundary succeeded.
    opened: bool,
    failed: Option<String>,
}

/// Readings folded into per-phase stats.
pub struct Meter {
    devices: Vec<Device>,
    method: Option<&'static str>,
    off: Option<String>,
    start: f64,
    open: Stats,
    phases: Vec<(&'static str, Stats)>,
    keep: bool,
    samples: Vec<Sample>,
    /// How many of `samples` belong to closed phases.
    tagged: usize,
}

impl Meter {
    /// Takes the first reading of every source, at time 0; `Err` holds why there are none.
    pub fn new(sources: Result<Vec<Box<dyn Source>>, String>, keep: bool) -> Self {
        let (devices, off) = match sources {
            Ok(s) if s.is_empty() => (Vec::new(), Some("no device to read".to_string())),
            Ok(s) => (s, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let devices: Vec<Device> = devices
            .into_iter()
            .map(|source| Device {
                name: source.name(),
                source,
                last: None,
                phase_j: Some(0.0),
                total_j: Some(0.0),
                opened: false,
                failed: None,
            })
            .collect();
        let mut m = Self {
            devices,
            method: None,
            off,
            start: 0.0,
            open: Stats::default(),
            phases: Vec::new(),
            keep,
            samples: Vec::new(),
            tagged: 0,
        };
        let ok = m.read_all(0.0);
        for (d, ok) in m.devices.iter_mut().zip(ok) {
            d.opened = ok;
        }
        m.method = m.method_now();
        m
    }

    /// Whether there is anything to read.
    pub fn is_on(&self) -> bool {
        self.off.is_none()
    }

    /// A reading between boundaries.
    pub fn sample(&mut self, t: f64) {
        self.read_all(t);
    }

    /// Ends the open phase at `t`, with a reading at the boundary, and names it `phase`.
    pub fn lap(&mut self, phase: &'static str, t: f64) {
        if !self.is_on() {
            return;
        }
        let ok = self.read_all(t);
        let known = self.method.is_some()
            && self
                .devices
                .iter()
                .zip(&ok)
                .all(|(d, ok)| *ok && d.opened && d.phase_j.is_some());
        let mut stats = std::mem::take(&mut self.open);
        stats.seconds = t - self.start;
        stats.energy_j = known.then(|| self.devices.iter().flat_map(|d| d.phase_j).sum());
        for (d, ok) in self.devices.iter_mut().zip(ok) {
            (d.opened, d.phase_j) = (ok, Some(0.0));
        }
        self.start = t;
        for s in &mut self.samples[self.tagged..] {
            s.phase = phase;
        }
        self.tagged = self.samples.len();
        match self.phases.iter_mut().find(|p| p.0 == phase) {
            Some(p) => p.1.merge(&stats),
            None => self.phases.push((phase, stats)),
        }
    }

    /// Closes what is still open at `t` as `tail` (after a failure, the phase the run was in),
    /// and returns everything measured.
    pub fn finish(mut self, tail: &'static str, t: f64) -> Summary {
        let Some(why) = self.off.take() else {
            self.lap(tail, t);
            return Summary {
                source: self.source(),
                method: self.method,
                phases: self.phases,
                samples: self.samples,
            };
        };
        Summary::off(&why)
    }

    /// `counter` when every device has an energy counter, `power-integral` when some must be
    /// integrated from power readings instead, `None` when one has neither.
    fn method_now(&self) -> Option<&'static str> {
        let readings: Option<Vec<&Reading>> = self
            .devices
            .iter()
            .map(|d| d.last.as_ref().map(|l| &l.1))
            .collect();
        let readings = readings.filter(|r| !r.is_empty())?;
        if readings.iter().all(|r| r.energy.is_some()) {
            Some("counter")
        } else if readings
            .iter()
            .all(|r| r.energy.is_some() || r.power_w.is_some())
        {
            Some("power-integral")
        } else {
            None
        }
    }

    /// The devices read, identical ones counted (`4 × nvml NVIDIA A10G`), and any that never
    /// answered with why.
    fn source(&self) -> String {
        let mut groups: Vec<(String, usize)> = Vec::new();
        for d in &self.devices {
            let name = match (&d.last, &d.failed) {
                (None, Some(why)) => format!("{} (no reading: {why})", d.name),
                _ => d.name.clone(),
            };
            match groups.iter_mut().find(|g| g.0 == name) {
                Some(g) => g.1 += 1,
                None => groups.push((name, 1)),
            }
        }
        let named: Vec<String> = groups
            .into_iter()
            .map(|(n, k)| if k > 1 { format!("{k} × {n}") } else { n })
            .collect();
        named.join(", ")
    }

    /// Reads every device at `t`; whether each read succeeded.
    fn read_all(&mut self, t: f64) -> Vec<bool> {
        let mut ok = Vec::with_capacity(self.devices.len());
        let mut power = Some(0.0);
        let mut sample = Stats::default();
        for d in &mut self.devices {
            let read = catch_unwind(AssertUnwindSafe(|| d.source.read()))
                .unwrap_or_else(|_| Err("the reader panicked".into()));
            let r = match read {
                Ok(r) => r,
                Err(why) => {
                    d.failed = Some(why);
                    ok.push(false);
                    power = None;
                    continue;
                }
            };
            let mut derived = None;
            if let Some((t0, r0)) = &d.last {
                let j = joules(r0, &r, t - t0);
                d.phase_j = d.phase_j.zip(j).map(|(a, b)| a + b);
                d.total_j = d.total_j.zip(j).map(|(a, b)| a + b);
                derived = j.filter(|_| t - t0 >= MIN_POWER_S).map(|j| j / (t - t0));
            }
            power = power.zip(r.power_w.or(derived)).map(|(a, b)| a + b);
            sample.add(&r);
            d.last = Some((t, r));
            ok.push(true);
        }
        self.open.merge(&Stats {
            power_max_w: power,
            ..sample.clone()
        });
        if self.keep && self.is_on() {
            let energy = self.devices.iter().map(|d| d.total_j).sum();
            self.samples.push(Sample {
                t_s: t,
                phase: "",
                power_w: power,
                energy_j: energy,
                sm_clock_mhz: sample.clock_sm_mhz_mean(),
                temp_c: sample.temp_max_c,
                mem_used_mib: sample.mem_used_max_mib,
                throttle: sample.throttle.into_iter().collect(),
            });
        }
        ok
    }
}

/// The shortest interval a power is derived from a counter over: over a boundary read just
/// after a sample, the counter's granularity would make the quotient noise.
const MIN_POWER_S: f64 = 0.05;

/// Joules between two readings `dt` seconds apart: the counter's delta where both have one
/// and it did not reset, else the mean of the two powers times the time.
fn joules(a: &Reading, b: &Reading, dt: f64) -> Option<f64> {
    let counted = a.energy.zip(b.energy).and_then(|(x, y)| x.delta(y));
    counted
        .map(|uj| uj as f64 / 1e6)
        .or_else(|| Some((a.power_w? + b.power_w?) / 2.0 * dt))
}
