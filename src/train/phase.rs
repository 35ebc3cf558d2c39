//! Wall-clock phases, each closed by a device sync so no queued GPU work leaks into the next.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::prelude::{Backend, Tensor};

use crate::telemetry::{Sampler, Summary};

/// Seconds per phase; `None` for a phase the run never reached.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Phases {
    pub device_init_s: Option<f64>,
    pub data_load_s: Option<f64>,
    pub model_init_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub train_s: Option<f64>,
    pub eval_s: Option<f64>,
}

impl Phases {
    /// Time paid before steady training: device init + model init + first step.
    pub fn init_s(&self) -> Option<f64> {
        Some(self.device_init_s? + self.model_init_s? + self.warmup_s?)
    }
}

/// Measures the time since the last lap, after waiting for the device to finish, and ends
/// the telemetry's phase at the same boundary.
pub struct Stopwatch<'a, B: Backend> {
    device: &'a B::Device,
    start: Instant,
    last: Instant,
    sampler: Sampler,
}

impl<'a, B: Backend> Stopwatch<'a, B> {
    pub fn start(device: &'a B::Device, sampler: Sampler) -> Self {
        let now = Instant::now();
        Self {
            device,
            start: now,
            last: now,
            sampler,
        }
    }

    /// Syncs the device, then returns the seconds since the previous lap, which were `phase`.
    pub fn lap(&mut self, phase: &'static str) -> Result<f64> {
        B::sync(self.device).map_err(|e| anyhow!("device sync failed: {e}"))?;
        let s = self.last.elapsed().as_secs_f64();
        self.sampler.lap(phase);
        // The boundary's readings belong to neither phase.
        self.last = Instant::now();
        Ok(s)
    }

    /// Seconds since `start` (call after a lap, or after a failure), and the telemetry, what
    /// came after the last lap named `tail`.
    pub fn finish(self, tail: &'static str) -> (f64, Summary) {
        let total = self.start.elapsed().as_secs_f64();
        (total, self.sampler.finish(tail))
    }
}

/// Reads a one-element tensor back to the host (this waits for the device).
pub(super) fn read<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<f64> {
    let data = t
        .try_into_data()
        .map_err(|e| anyhow!("reading a value from the device: {e}"))?;
    let v = data
        .to_vec::<f32>()
        .map_err(|e| anyhow!("reading a value from the device: {e:?}"))?;
    Ok(f64::from(v[0]))
}
