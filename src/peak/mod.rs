//! Peak microbenchmarks: a tiled f32 GEMM and a buffer copy (`kernels/*.wgsl`, `kernels/*.cu`),
//! run through wgpu on every adapter and through CUDA on every NVIDIA GPU. The runners only
//! upload, launch and time; everything else (sizes, inputs, the check against a CPU reference,
//! the rows) lives here, so both APIs are measured and judged the same way. A result that does
//! not match the reference is a `failed` row without a number, never a fast one.

pub mod cuda;
mod plan;
mod row;
pub mod wgpu;

pub use plan::{
    Check, GEMM_TILE, Kernel, Launch, Plan, copy_error, gemm_error, gemm_tolerance, median, random,
};
pub(crate) use row::unavailable;
pub use row::{ProbeStatus, Row, gemm_peak, peak_copy_gbs, peak_gemm_tflops, render, write_csv};

use anyhow::Result;

pub(crate) use crate::error::guarded;

/// Which devices to measure: every one (`probe`), or only the one burn trains on (`run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Devices {
    All,
    Default,
}

/// What a runner reports about the device it drives.
pub(crate) struct Adapter {
    pub api: &'static str,
    pub name: String,
    pub device_type: String,
    pub details: String,
    pub timing: &'static str,
    /// The largest buffer one kernel argument may be, in bytes.
    pub max_buffer: u64,
}

impl Adapter {
    /// The plan for this device's type, within its buffer limit.
    fn plan(&self) -> Plan {
        let software = self.device_type == "cpu";
        if software {
            Plan::software()
        } else {
            Plan::gpu()
        }
        .capped(self.max_buffer)
    }
}

/// Seconds per repeat (after the warm-up) and the output of the last launch.
pub(crate) struct Timed {
    pub seconds: Vec<f64>,
    pub output: Vec<f32>,
}

/// A graphics/compute API's side of a measurement on one device.
pub(crate) trait Runner {
    fn info(&self) -> &Adapter;
    /// Uploads `job`, launches it `warmup` times untimed, then `repeats` times timed.
    fn run(&mut self, job: &Launch, warmup: usize, repeats: usize) -> Result<Timed>;
}

/// Measures every kernel of `plan` (or the plan for the device's type) with `runner`.
pub(crate) fn measure_device(runner: &mut dyn Runner, plan: Option<&Plan>) -> Vec<Row> {
    let info = runner.info();
    let plan = plan.map_or_else(|| info.plan(), |p| p.clone().capped(info.max_buffer));
    let sizes = plan
        .gemm_n
        .iter()
        .map(|&n| (Kernel::Gemm, u64::from(n)))
        .chain(plan.copy_bytes.iter().map(|&b| (Kernel::Copy, b)));
    sizes
        .map(|(kernel, size)| measure_one(runner, &plan, kernel, size))
        .collect()
}

fn measure_one(runner: &mut dyn Runner, plan: &Plan, kernel: Kernel, size: u64) -> Row {
    let info = runner.info();
    let mut row = Row {
        api: info.api.into(),
        device: info.name.clone(),
        device_type: info.device_type.clone(),
        details: info.details.clone(),
        kernel: kernel.name().into(),
        size: size.to_string(),
        status: ProbeStatus::Failed,
        value: None,
        unit: kernel.unit().into(),
        timing: info.timing.into(),
        max_rel_error: None,
        reason: String::new(),
    };
    let outcome = Launch::new(kernel, size).and_then(|job| {
        row.size = job.label();
        let timed = run_guarded(runner, &job, plan)?;
        let check = job.check(&timed.output);
        row.max_rel_error = Some(check.error);
        check.verdict()?;
        Ok(job.work() / median(&timed.seconds) / 1e9)
    });
    match outcome {
        Ok(rate) => (row.status, row.value) = (ProbeStatus::Ok, Some(rate)),
        Err(e) => row.reason = format!("{e:#}"),
    }
    row
}

/// Runs `job`; a panic or a timer that did not advance fails this row only.
fn run_guarded(runner: &mut dyn Runner, job: &Launch, plan: &Plan) -> Result<Timed> {
    let timed = guarded(|| runner.run(job, plan.warmup, plan.repeats))?;
    anyhow::ensure!(
        !timed.seconds.is_empty() && timed.seconds.iter().all(|&s| s > 0.0 && s.is_finite()),
        "the timer gave no positive durations: {:?}",
        timed.seconds
    );
    Ok(timed)
}

/// Every device of every API: wgpu adapters, then CUDA GPUs (`gpubench probe`).
pub fn measure_all() -> Vec<Row> {
    let mut rows = wgpu::measure(Devices::All, None);
    rows.extend(cuda::measure(Devices::All, None));
    rows
}

#[cfg(test)]
mod tests {
    use super::plan::MIB;
    use super::*;

    /// A runner computing on the CPU, optionally corrupting one output element.
    struct Fake {
        info: Adapter,
        corrupt: bool,
    }

    impl Runner for Fake {
        fn info(&self) -> &Adapter {
            &self.info
        }
        fn run(&mut self, job: &Launch, _warmup: usize, repeats: usize) -> Result<Timed> {
            let mut output = match job.kernel {
                Kernel::Copy => job.inputs[0].clone(),
                Kernel::Gemm => {
                    let n = job.size as usize;
                    let (a, b) = (&job.inputs[0], &job.inputs[1]);
                    let mut c = vec![0.0f32; n * n];
                    for i in 0..n {
                        for k in 0..n {
                            for j in 0..n {
                                c[i * n + j] += a[i * n + k] * b[k * n + j];
                            }
                        }
                    }
                    c
                }
            };
            if self.corrupt {
                output[job.out_len() / 2] += 0.5;
            }
            Ok(Timed {
                seconds: vec![1e-3; repeats],
                output,
            })
        }
    }

    fn rows(corrupt: bool) -> Vec<Row> {
        let info = Adapter {
            api: "fake",
            name: "cpu".into(),
            device_type: "cpu".into(),
            details: String::new(),
            timing: "wall",
            max_buffer: 1 << 30,
        };
        let plan = Plan {
            gemm_n: vec![128],
            copy_bytes: vec![MIB],
            warmup: 0,
            repeats: 3,
        };
        measure_device(&mut Fake { info, corrupt }, Some(&plan))
    }

    #[test]
    fn correct_results_give_rates() {
        let rows = rows(false);
        assert!(
            rows.iter().all(|r| r.status == ProbeStatus::Ok),
            "{rows:#?}"
        );
        // 2·128³ FLOP in 1 ms; 2 MiB moved in 1 ms.
        assert!((rows[0].value.unwrap() - 2.0 * 128f64.powi(3) / 1e-3 / 1e9).abs() < 1e-9);
        assert!(
            (peak_copy_gbs(&rows, "fake").unwrap() - 2.0 * MIB as f64 / 1e-3 / 1e9).abs() < 1e-9
        );
        assert!(peak_gemm_tflops(&rows, "fake").is_some());
        assert_eq!(peak_gemm_tflops(&rows, "cuda"), None);
    }

    #[test]
    fn wrong_results_fail_without_a_number() {
        let rows = rows(true);
        for r in &rows {
            assert_eq!(r.status, ProbeStatus::Failed, "{r:?}");
            assert_eq!(r.value, None);
            assert!(r.reason.starts_with("wrong result"), "{}", r.reason);
        }
        assert_eq!(peak_gemm_tflops(&rows, "fake"), None);
    }

    #[test]
    fn errors_catch_nan_and_length() {
        let a = random(4, 1);
        assert_eq!(copy_error(&a, &a), 0.0);
        assert_eq!(copy_error(&a, &a[..3]), f64::INFINITY);
        assert_eq!(copy_error(&a, &[f32::NAN; 4]), f64::INFINITY);
        assert_eq!(gemm_error(&a, &a, &[f32::NAN; 4], 2), f64::INFINITY);
    }

    #[test]
    fn median_and_caps() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let p = Plan::gpu().capped(128 * MIB);
        assert_eq!(p.gemm_n, vec![1024, 2048, 4096]);
        assert_eq!(p.copy_bytes, vec![64 * MIB]);
        assert_eq!(Plan::gpu().capped(MIB + 20).copy_bytes, vec![MIB + 16]);
    }
}
