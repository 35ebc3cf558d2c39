//! A scripted [`Source`] and the tests of the arithmetic and the thread behind the columns.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Counter, Meter, Reading, Sampler, Source, Stats};

/// Answers with its script, one entry per read, then repeats the last entry.
pub struct Fake {
    pub script: VecDeque<Result<Reading, String>>,
    pub reads: Arc<AtomicUsize>,
}

impl Fake {
    pub fn boxed(script: Vec<Result<Reading, String>>) -> Box<dyn Source> {
        Box::new(Self {
            script: script.into(),
            reads: Arc::default(),
        })
    }
}

impl Source for Fake {
    fn name(&self) -> String {
        "fake".into()
    }

    fn read(&mut self) -> Result<Reading, String> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let next = if self.script.len() > 1 {
            self.script.pop_front()
        } else {
            self.script.front().cloned()
        };
        match next {
            Some(Err(why)) if why == "panic" => panic!("a driver bug"),
            Some(r) => r,
            None => Err("empty script".into()),
        }
    }
}

/// A RAPL-like counter reading, in joules, wrapping at `wrap` joules.
fn counter(j: f64, wrap: f64) -> Result<Reading, String> {
    Ok(Reading {
        energy: Some(Counter {
            uj: (j * 1e6) as u64,
            wraps_at: Some((wrap * 1e6) as u64),
        }),
        ..Reading::default()
    })
}

fn power(w: f64) -> Result<Reading, String> {
    Ok(Reading {
        power_w: Some(w),
        ..Reading::default()
    })
}

fn energy(s: Option<&Stats>) -> Option<f64> {
    s?.energy_j.map(|j| (j * 1e6).round() / 1e6)
}

#[test]
fn counter_deltas_cross_a_wrap_and_split_at_the_boundaries() {
    // Read at 0, 0.1, boundary 0.2, 0.5, 0.8 (wrapped at 100 J), boundary 1.0.
    let script = [10.0, 20.0, 30.0, 90.0, 10.0, 25.0].map(|j| counter(j, 100.0));
    let mut m = Meter::new(Ok(vec![Fake::boxed(script.to_vec())]), true);
    m.sample(0.1);
    m.lap("warmup", 0.2);
    m.sample(0.5);
    m.sample(0.8);
    m.lap("train", 1.0);
    let s = m.finish("end", 1.0);
    assert_eq!((s.source.as_str(), s.method), ("fake", Some("counter")));
    assert_eq!(energy(s.phase("warmup")), Some(20.0));
    // 30 → 90 → (wrap at 100) 10 → 25: 60 + 20 + 15.
    assert_eq!(energy(s.phase("train")), Some(95.0));
    let train = s.phase("train").unwrap();
    assert_eq!(train.seconds, 0.8);
    // Power comes from the counter: 60 J in the 0.3 s after the boundary is the most.
    assert_eq!(train.power_max_w.map(|p| p.round()), Some(200.0));
    assert_eq!(energy(s.total().as_ref()), Some(115.0));
    let phases: Vec<&str> = s.samples.iter().map(|x| x.phase).collect();
    assert_eq!(
        phases,
        [
            "warmup", "warmup", "warmup", "train", "train", "train", "end"
        ]
    );
    assert_eq!(
        s.samples.last().unwrap().energy_j.map(f64::round),
        Some(115.0)
    );
}

#[test]
fn a_missing_sample_costs_nothing_but_a_missing_boundary_costs_its_phases() {
    let gap = || Err("busy".to_string());
    let script = vec![
        counter(0.0, 1e6),
        gap(), // mid-phase: the counter bridges it
        counter(5.0, 1e6),
        gap(), // the boundary of b: neither b nor c is known
        counter(9.0, 1e6),
        counter(12.0, 1e6),
        counter(20.0, 1e6),
    ];
    let mut m = Meter::new(Ok(vec![Fake::boxed(script)]), false);
    m.sample(0.1);
    m.lap("a", 0.2);
    m.lap("b", 0.3);
    m.sample(0.4);
    m.lap("c", 0.5);
    m.lap("d", 0.6);
    let s = m.finish("end", 0.6);
    assert_eq!(energy(s.phase("a")), Some(5.0));
    assert_eq!((energy(s.phase("b")), energy(s.phase("c"))), (None, None));
    assert_eq!(energy(s.phase("d")), Some(8.0));
    assert_eq!(energy(s.total().as_ref()), None);
}

#[test]
fn power_readings_are_integrated_when_there_is_no_counter() {
    let mut m = Meter::new(
        Ok(vec![Fake::boxed(vec![
            power(100.0),
            power(100.0),
            power(200.0),
        ])]),
        false,
    );
    m.sample(1.0);
    m.lap("train", 2.0);
    let s = m.finish("end", 2.0);
    assert_eq!(s.method, Some("power-integral"));
    let train = s.phase("train").unwrap();
    assert_eq!(energy(Some(train)), Some(250.0));
    assert_eq!(train.power_mean_w(), Some(125.0));
    assert_eq!(train.power_max_w, Some(200.0));
}

#[test]
fn devices_add_up_and_the_rest_is_the_worst_or_the_mean_of_them() {
    let gpu = |j: f64, clock: f64, temp: f64, throttle: Vec<&'static str>| {
        Ok(Reading {
            energy: Some(Counter {
                uj: (j * 1e6) as u64,
                wraps_at: None,
            }),
            power_w: Some(j),
            sm_clock_mhz: Some(clock),
            temp_c: Some(temp),
            mem_used_mib: Some(temp * 10.0),
            throttle: Some(throttle),
        })
    };
    let a = Fake::boxed(vec![
        gpu(0.0, 1000.0, 40.0, vec![]),
        gpu(70.0, 1400.0, 60.0, vec!["sw_power_cap"]),
    ]);
    let b = Fake::boxed(vec![
        gpu(0.0, 1200.0, 50.0, vec![]),
        gpu(72.0, 1600.0, 65.0, vec!["gpu_idle"]),
    ]);
    let mut m = Meter::new(Ok(vec![a, b]), false);
    m.lap("train", 1.0);
    let s = m.finish("end", 1.0);
    assert_eq!(s.source, "2 × fake");
    let t = s.phase("train").unwrap();
    assert_eq!(energy(Some(t)), Some(142.0));
    assert_eq!(t.power_max_w, Some(142.0));
    // The first and the boundary reading of both devices.
    assert_eq!(t.clock_sm_mhz_mean(), Some(1300.0));
    assert_eq!(
        (t.temp_max_c, t.mem_used_max_mib),
        (Some(65.0), Some(650.0))
    );
    let reasons: Vec<&str> = t.throttle.iter().copied().collect();
    assert_eq!(reasons, ["gpu_idle", "sw_power_cap"]);
}

#[test]
fn a_source_that_fails_or_panics_leaves_the_energy_empty_and_says_why() {
    let m = Meter::new(Ok(vec![Fake::boxed(vec![Err("panic".into())])]), false);
    let s = m.finish("end", 1.0);
    assert_eq!(s.source, "fake (no reading: the reader panicked)");
    assert_eq!(s.method, None);
    assert_eq!(energy(s.total().as_ref()), None);
    let s = Meter::new(Err("NVML did not start".into()), true).finish("end", 1.0);
    assert_eq!(
        (s.source.as_str(), s.total()),
        ("none: NVML did not start", None)
    );
    assert!(s.samples.is_empty());
}

#[test]
fn the_sampler_thread_reads_in_between_and_ends_with_a_failed_run() {
    let reads = Arc::new(AtomicUsize::new(0));
    let fake = Fake {
        script: vec![counter(1.0, 1e6)].into(),
        reads: Arc::clone(&reads),
    };
    let sampler = Sampler::every(Ok(vec![Box::new(fake)]), false, Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(100));
    assert!(reads.load(Ordering::SeqCst) > 2, "the thread never sampled");
    // The run panics: unwinding drops the sampler, which ends its thread.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _held = sampler;
        panic!("the run failed");
    }));
    std::thread::sleep(Duration::from_millis(50));
    let after = reads.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        reads.load(Ordering::SeqCst),
        after,
        "the thread outlived its run"
    );
}

#[test]
fn what_was_measured_before_a_failure_is_kept() {
    let sampler = Sampler::every(
        Ok(vec![Fake::boxed(vec![power(50.0)])]),
        false,
        Duration::from_millis(5),
    );
    sampler.lap("device_init");
    std::thread::sleep(Duration::from_millis(30));
    // The run fails in its next phase; finishing closes it as unfinished.
    let s = sampler.finish("unfinished");
    assert!(s.phase("device_init").is_some_and(|p| p.energy_j.is_some()));
    let rest = s.phase("unfinished").unwrap();
    assert!(rest.seconds >= 0.03 && rest.energy_j.is_some(), "{rest:?}");
}
