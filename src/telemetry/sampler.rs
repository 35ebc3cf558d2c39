//! The thread that reads a [`Meter`]'s devices every [`Sampler::EVERY`] while a run trains.
//! Phase boundaries read them on the caller's thread, so a phase's energy starts and ends
//! with its own readings, whatever the sampling period.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Meter, Source, Summary};

/// A meter and the thread that samples it; dropping it (a run that failed or panicked) stops
/// the thread too.
pub struct Sampler {
    meter: Arc<Mutex<Option<Meter>>>,
    start: Instant,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// NVML refreshes its counters every 20–100 ms: reading more often adds nothing.
    pub const EVERY: Duration = Duration::from_millis(100);

    /// Starts sampling `sources` now (time 0 of the run); with `keep`, every reading is kept
    /// for `samples.csv`.
    pub fn start(sources: Result<Vec<Box<dyn Source>>, String>, keep: bool) -> Self {
        Self::every(sources, keep, Self::EVERY)
    }

    pub fn every(
        sources: Result<Vec<Box<dyn Source>>, String>,
        keep: bool,
        every: Duration,
    ) -> Self {
        let start = Instant::now();
        let meter = Meter::new(sources, keep);
        let on = meter.is_on();
        let meter = Arc::new(Mutex::new(Some(meter)));
        let mut me = Self {
            meter,
            start,
            stop: None,
            thread: None,
        };
        if on {
            let (stop, stopped) = channel::<()>();
            let shared = Arc::clone(&me.meter);
            let spawned = std::thread::Builder::new()
                .name("telemetry".into())
                .spawn(move || {
                    // Ends when told to, or when the sampler is dropped (the sender hangs up).
                    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                        match lock(&shared).as_mut() {
                            Some(m) => m.sample(start.elapsed().as_secs_f64()),
                            None => return,
                        }
                    }
                });
            // Without a thread the boundaries are still read: the phases keep their energy.
            if let Ok(t) = spawned {
                (me.stop, me.thread) = (Some(stop), Some(t));
            }
        }
        me
    }

    /// Ends the open phase now and names it.
    pub fn lap(&self, phase: &'static str) {
        if let Some(m) = lock(&self.meter).as_mut() {
            m.lap(phase, self.start.elapsed().as_secs_f64());
        }
    }

    /// Stops the thread and returns everything measured, the open phase named `tail`.
    pub fn finish(mut self, tail: &'static str) -> Summary {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let t = self.start.elapsed().as_secs_f64();
        let meter = lock(&self.meter).take();
        meter.map_or_else(
            || Summary::off("the sampler stopped"),
            |m| m.finish(tail, t),
        )
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        // Hanging up tells the thread to end; it is not joined, so a drop never waits.
        drop(self.stop.take());
    }
}

/// The meter, even after a panic elsewhere held its lock: readings never panic inside it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
