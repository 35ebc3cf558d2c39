//! What is measured: the kernels, the sizes per kind of device, each launch's inputs and
//! geometry, and the CPU reference every result is checked against.

use anyhow::{Context, Result};

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
    pub(super) fn block(self) -> (u32, u32) {
        match self {
            Kernel::Gemm => (16, 16),
            Kernel::Copy => (256, 1),
        }
    }
}

/// Output tile of one GEMM workgroup; n must be a multiple of it.
pub const GEMM_TILE: u32 = 128;

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

pub(super) const MIB: u64 = 1 << 20;

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
    pub(super) fn capped(mut self, max_bytes: u64) -> Self {
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

/// One kernel at one size: its inputs, launch geometry and CPU reference check.
pub struct Launch {
    pub kernel: Kernel,
    /// n for a GEMM, bytes for a copy.
    pub size: u64,
    pub(super) inputs: Vec<Vec<f32>>,
    /// The u32 argument every kernel takes last: n (gemm) or the length in vec4s (copy).
    pub(super) param: u32,
    /// Workgroups (blocks) in x and y.
    pub(super) grid: (u32, u32),
}

impl Launch {
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
                Ok(Launch {
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
                Ok(Launch {
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
    pub(super) fn out_len(&self) -> usize {
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
