//! Peak microbenchmarks: a tiled f32 GEMM and a buffer copy (`kernels/*.wgsl`, `kernels/*.cu`),
//! run through wgpu on every adapter and through CUDA on every NVIDIA GPU. The runners only
//! upload, launch and time; everything else (sizes, inputs, the check against a CPU reference,
//! the rows) lives here, so both APIs are measured and judged the same way. A result that does
//! not match the reference is a `failed` row without a number, never a fast one.

pub mod cuda;
pub mod wgpu;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// One line of `probe.csv`: one kernel at one size on one device, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `wgpu` or `cuda`.
    pub api: String,
    pub device: String,
    /// `discrete-gpu`, `integrated-gpu`, `virtual-gpu`, `cpu` (a software renderer), `other`.
    pub device_type: String,
    /// Graphics API and driver (wgpu); compute capability, SMs, clocks, memory (cuda).
    pub details: String,
    /// `gemm` or `copy`.
    pub kernel: String,
    /// `n=1024` (an n×n×n GEMM) or `64MiB` (the buffer copied).
    pub size: String,
    pub status: Status,
    /// Median over the repeats, in `unit`; empty unless `status` is `ok`.
    pub value: Option<f64>,
    pub unit: String,
    /// `gpu-timestamp` (timestamp queries, CUDA events) or `wall` (around a blocking wait).
    pub timing: String,
    /// The result's largest error against the CPU reference (see [`gemm_error`]).
    pub max_rel_error: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Unavailable,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Unavailable => "unavailable",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Gemm,
    Copy,
}

impl Kernel {
    pub const ALL: [Kernel; 2] = [Kernel::Gemm, Kernel::Copy];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Gemm => "gemm",
            Kernel::Copy => "copy",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Kernel::Gemm => "GFLOP/s",
            Kernel::Copy => "GB/s",
        }
    }

    /// Threads per workgroup (block) in x and y, as the kernel sources declare them.
    fn block(self) -> (u32, u32) {
        match self {
            Kernel::Gemm => (16, 16),
            Kernel::Copy => (256, 1),
        }
    }
}

/// Output tile of one GEMM workgroup; n must be a multiple of it.
pub const GEMM_TILE: u32 = 128;

/// Which devices to measure: every one (`probe`), or only the one burn trains on (`run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Devices {
    All,
    Default,
}

/// Sizes and repeats. Software renderers get sizes that finish in seconds; GPUs get sizes
/// large enough to reach their peak (launch overhead and caches stop mattering).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Matrix orders, multiples of [`GEMM_TILE`].
    pub gemm_n: Vec<u32>,
    /// Buffer sizes in bytes, multiples of 16.
    pub copy_bytes: Vec<u64>,
    pub warmup: usize,
    pub repeats: usize,
}

const MIB: u64 = 1 << 20;

impl Plan {
    /// For CPU (software) adapters such as lavapipe: the whole plan takes under 10 s on 2 cores.
    pub fn software() -> Self {
        Plan {
            gemm_n: vec![256, 512, 1024],
            copy_bytes: vec![16 * MIB, 64 * MIB],
            warmup: 1,
            repeats: 3,
        }
    }

    /// For hardware GPUs: a 4096³ GEMM is ~0.14 TFLOP, a 1 GiB copy moves 2 GiB.
    pub fn gpu() -> Self {
        Plan {
            gemm_n: vec![1024, 2048, 4096],
            copy_bytes: vec![64 * MIB, 256 * MIB, 1024 * MIB],
            warmup: 3,
            repeats: 10,
        }
    }

    /// Drops the sizes whose buffers exceed `max_bytes` (a binding limit or free memory); a
    /// copy too large for every planned size falls back to the largest buffer that fits.
    fn capped(mut self, max_bytes: u64) -> Self {
        self.gemm_n
            .retain(|&n| u64::from(n) * u64::from(n) * 4 <= max_bytes);
        let planned = !self.copy_bytes.is_empty();
        self.copy_bytes.retain(|&b| b <= max_bytes);
        if planned && self.copy_bytes.is_empty() {
            self.copy_bytes.push(max_bytes & !0xF);
        }
        self
    }
}

/// What a runner reports about the device it drives.
pub(crate) struct DeviceInfo {
    pub api: &'static str,
    pub name: String,
    pub device_type: String,
    pub details: String,
    pub timing: &'static str,
    /// The largest buffer one kernel argument may be, in bytes.
    pub max_buffer: u64,
}

impl DeviceInfo {
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

/// One kernel at one size: its inputs, launch geometry and CPU reference check.
pub struct Job {
    pub kernel: Kernel,
    /// n for a GEMM, bytes for a copy.
    pub size: u64,
    inputs: Vec<Vec<f32>>,
    /// The u32 argument every kernel takes last: n (gemm) or the length in vec4s (copy).
    param: u32,
    /// Workgroups (blocks) in x and y.
    grid: (u32, u32),
}

impl Job {
    pub fn new(kernel: Kernel, size: u64) -> Result<Self> {
        match kernel {
            Kernel::Gemm => {
                anyhow::ensure!(
                    size > 0 && size.is_multiple_of(u64::from(GEMM_TILE)) && size < 1 << 16,
                    "n={size} is not a multiple of the {GEMM_TILE}×{GEMM_TILE} tile below 65536"
                );
                let len = (size * size) as usize;
                let groups = (size / u64::from(GEMM_TILE)) as u32;
                let inputs = vec![random(len, 1), random(len, 2)];
                Ok(Job {
                    kernel,
                    size,
                    inputs,
                    param: size as u32,
                    grid: (groups, groups),
                })
            }
            Kernel::Copy => {
                anyhow::ensure!(
                    size > 0 && size.is_multiple_of(16),
                    "{size} bytes is not a whole number of vec4s"
                );
                let vec4s =
                    u32::try_from(size / 16).context("copy buffer too large for u32 indices")?;
                // Distinct values, so that a shifted or partial copy differs from the source.
                let src = (0..size as usize / 4)
                    .map(|i| (i % 65_521) as f32 + 1.0)
                    .collect();
                // The kernel strides over the rest; 65535 is the smallest per-dimension limit.
                let grid = (vec4s.div_ceil(Kernel::Copy.block().0).min(65_535), 1);
                Ok(Job {
                    kernel,
                    size,
                    inputs: vec![src],
                    param: vec4s,
                    grid,
                })
            }
        }
    }

    /// `n=1024` or `64MiB`, for the `size` column.
    pub fn label(&self) -> String {
        match self.kernel {
            Kernel::Gemm => format!("n={}", self.size),
            Kernel::Copy if self.size.is_multiple_of(MIB) => format!("{}MiB", self.size / MIB),
            Kernel::Copy => format!("{}B", self.size),
        }
    }

    /// FLOPs (gemm) or bytes read and written (copy) per launch.
    pub fn work(&self) -> f64 {
        match self.kernel {
            Kernel::Gemm => 2.0 * (self.size as f64).powi(3),
            Kernel::Copy => 2.0 * self.size as f64,
        }
    }

    /// Elements of the output, which has the shape of the first input.
    fn out_len(&self) -> usize {
        self.inputs[0].len()
    }

    /// `output` against the CPU reference.
    pub fn check(&self, output: &[f32]) -> Check {
        match self.kernel {
            Kernel::Gemm => {
                let n = self.size as usize;
                Check {
                    error: gemm_error(&self.inputs[0], &self.inputs[1], output, n),
                    tolerance: gemm_tolerance(n),
                }
            }
            Kernel::Copy => Check {
                error: copy_error(&self.inputs[0], output),
                tolerance: 0.0,
            },
        }
    }
}

/// A result's error against the CPU reference and the largest error a correct one can have.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    pub error: f64,
    pub tolerance: f64,
}

impl Check {
    /// `Err` with the reason when the result is wrong.
    pub fn verdict(&self) -> Result<()> {
        anyhow::ensure!(
            self.error <= self.tolerance,
            "wrong result: max relative error {:.3e} exceeds the tolerance {:.3e}",
            self.error,
            self.tolerance
        );
        Ok(())
    }
}

/// Seconds per repeat (after the warm-up) and the output of the last launch.
pub(crate) struct Timed {
    pub seconds: Vec<f64>,
    pub output: Vec<f32>,
}

/// A graphics/compute API's side of a measurement on one device.
pub(crate) trait Runner {
    fn info(&self) -> &DeviceInfo;
    /// Uploads `job`, launches it `warmup` times untimed, then `repeats` times timed.
    fn run(&mut self, job: &Job, warmup: usize, repeats: usize) -> Result<Timed>;
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
        status: Status::Failed,
        value: None,
        unit: kernel.unit().into(),
        timing: info.timing.into(),
        max_rel_error: None,
        reason: String::new(),
    };
    let outcome = Job::new(kernel, size).and_then(|job| {
        row.size = job.label();
        let timed = run_guarded(runner, &job, plan)?;
        let check = job.check(&timed.output);
        row.max_rel_error = Some(check.error);
        check.verdict()?;
        Ok(job.work() / median(&timed.seconds) / 1e9)
    });
    match outcome {
        Ok(rate) => (row.status, row.value) = (Status::Ok, Some(rate)),
        Err(e) => row.reason = format!("{e:#}"),
    }
    row
}

/// Runs `f`, turning a panic in a driver binding into an error.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let text = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(anyhow::anyhow!("panicked: {text}"))
    })
}

/// Runs `job`; a panic or a timer that did not advance fails this row only.
fn run_guarded(runner: &mut dyn Runner, job: &Job, plan: &Plan) -> Result<Timed> {
    let timed = guarded(|| runner.run(job, plan.warmup, plan.repeats))?;
    anyhow::ensure!(
        !timed.seconds.is_empty() && timed.seconds.iter().all(|&s| s > 0.0 && s.is_finite()),
        "the timer gave no positive durations: {:?}",
        timed.seconds
    );
    Ok(timed)
}

/// One `unavailable` row per kernel, for an API or a device (`device` may be empty) that
/// cannot run here.
pub(crate) fn unavailable(api: &str, device: &str, reason: &str) -> Vec<Row> {
    Kernel::ALL
        .iter()
        .map(|k| Row {
            api: api.into(),
            device: device.into(),
            device_type: String::new(),
            details: String::new(),
            kernel: k.name().into(),
            size: String::new(),
            status: Status::Unavailable,
            value: None,
            unit: k.unit().into(),
            timing: String::new(),
            max_rel_error: None,
            reason: reason.into(),
        })
        .collect()
}

/// Every device of every API: wgpu adapters, then CUDA GPUs (`gpubench probe`).
pub fn measure_all() -> Vec<Row> {
    let mut rows = wgpu::measure(Devices::All, None);
    rows.extend(cuda::measure(Devices::All, None));
    rows
}

/// The best GEMM rate measured through `api`, in TFLOP/s (what `gpubench run` records).
pub fn peak_gemm_tflops(rows: &[Row], api: &str) -> Option<f64> {
    best(rows, api, Kernel::Gemm).map(|v| v / 1e3)
}

/// The best copy bandwidth measured through `api`, in GB/s.
pub fn peak_copy_gbs(rows: &[Row], api: &str) -> Option<f64> {
    best(rows, api, Kernel::Copy)
}

fn best(rows: &[Row], api: &str, kernel: Kernel) -> Option<f64> {
    rows.iter()
        .filter(|r| r.api == api && r.kernel == kernel.name() && r.status == Status::Ok)
        .filter_map(|r| r.value)
        .reduce(f64::max)
}

/// Writes `rows` as CSV with a header, replacing `path` (`probe.csv`).
pub fn write_csv(rows: &[Row], path: &Path) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    for row in rows {
        w.serialize(row)?;
    }
    w.flush().with_context(|| format!("{}", path.display()))
}

/// A readable line per row, for the terminal.
pub fn render(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            let result = match (r.status, r.value) {
                (Status::Ok, Some(v)) => format!(
                    "{v:>10.1} {:<7} ({}, max rel err {:.1e})",
                    r.unit,
                    r.timing,
                    r.max_rel_error.unwrap_or(0.0)
                ),
                (status, _) => format!("{status}: {}", r.reason),
            };
            let device = if r.device.is_empty() { "-" } else { &r.device };
            format!(
                "{:<5} {device:<40} {:<5} {:<8} {result}\n",
                r.api, r.kernel, r.size
            )
        })
        .collect()
}

/// The median of `v` (the mean of the middle two for an even length); NaN for none.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// `len` values in [-1, 1) from a xorshift stream: deterministic, cheap, no zeros in bulk.
pub fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Error of `c = a × b` (n×n, row-major) against an f64 reference: the largest
/// |c − ref| / Σₖ|aᵢₖ·bₖⱼ| over the checked entries. Dividing by the sum of magnitudes rather
/// than |ref| makes this the error relative to what rounding can cause, so entries near zero
/// do not blow it up. Up to n = 256 every entry is checked; above, an odd stride samples about
/// 2¹⁶ entries spread over all rows, columns and tiles (a wrong tile has 16384), keeping the
/// check near a second at n = 4096. A NaN, or an output of the wrong length, is an infinite
/// error.
pub fn gemm_error(a: &[f32], b: &[f32], c: &[f32], n: usize) -> f64 {
    if a.len() != n * n || b.len() != n * n || c.len() != n * n {
        return f64::INFINITY;
    }
    let stride = ((n * n) >> 16) | 1;
    (0..n * n)
        .step_by(stride)
        .map(|idx| {
            let (i, j) = (idx / n, idx % n);
            let (mut sum, mut mag) = (0.0f64, 0.0f64);
            for k in 0..n {
                let p = f64::from(a[i * n + k]) * f64::from(b[k * n + j]);
                sum += p;
                mag += p.abs();
            }
            let err = (f64::from(c[idx]) - sum).abs() / mag.max(f64::MIN_POSITIVE);
            if err.is_nan() { f64::INFINITY } else { err }
        })
        .fold(0.0, f64::max)
}

/// The worst-case rounding of an f32 dot product of length n is about n·ε/2 relative to
/// Σ|aᵢₖ·bₖⱼ|; n·ε leaves room for any summation order and still flags a wrong result, whose
/// error is of order 1.
pub fn gemm_tolerance(n: usize) -> f64 {
    n as f64 * f64::from(f32::EPSILON)
}

/// Largest |dst − src| / |src| (a copy must be exact); infinite for a length mismatch or NaN.
pub fn copy_error(src: &[f32], dst: &[f32]) -> f64 {
    if src.len() != dst.len() {
        return f64::INFINITY;
    }
    src.iter()
        .zip(dst)
        .map(|(&s, &d)| {
            let err = f64::from(d - s).abs() / f64::from(s.abs()).max(f64::MIN_POSITIVE);
            if err.is_nan() { f64::INFINITY } else { err }
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runner computing on the CPU, optionally corrupting one output element.
    struct Fake {
        info: DeviceInfo,
        corrupt: bool,
    }

    impl Runner for Fake {
        fn info(&self) -> &DeviceInfo {
            &self.info
        }
        fn run(&mut self, job: &Job, _warmup: usize, repeats: usize) -> Result<Timed> {
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
        let info = DeviceInfo {
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
        assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:#?}");
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
            assert_eq!(r.status, Status::Failed, "{r:?}");
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
