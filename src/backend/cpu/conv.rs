//! CPU kernels for the conv → ReLU → max-pool block: a 'valid' k×k convolution with stride 1,
//! then a p×p max-pool with stride p that drops the rows and columns left over (Keras' and
//! burn's default). Convolutions are im2col + GEMM (the `gemm` crate, with AVX-512 kernels),
//! one run of images per thread. Only the convolution outputs some pooling window reads are
//! computed, ordered so that ReLU and pooling are one pass over contiguous planes; the pass
//! keeps which window position each maximum came from, so the backward pass writes the
//! gradient straight there instead of searching again.

use gemm::Parallelism;
use rayon::prelude::*;

use super::gemm::Layout::{Cols, Rows};
use super::gemm::matmul;

/// Defines `$name` to run `$body` inside a function compiled for AVX2 where the CPU has it, so
/// the loops inlined into it vectorise with blends: the crate targets baseline x86-64, whose
/// SSE2 has none, and these loops use selects where branches would mispredict (maxima of real
/// activations are as unpredictable as random ones).
macro_rules! with_avx2 {
    ($(#[$m:meta])* fn $name:ident($($a:ident: $t:ty),*) => $body:ident) => {
        $(#[$m])*
        fn $name($($a: $t),*) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                fn avx2($($a: $t),*) {
                    $body($($a),*)
                }
                // SAFETY: the CPU was just checked for AVX2.
                return unsafe { avx2($($a),*) };
            }
            $body($($a),*)
        }
    };
}

/// Each image's products run on its task's thread.
const ONE: Parallelism = Parallelism::None;

/// The shapes of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    /// Square kernel side.
    pub k: usize,
    /// Square pool side, equal to its stride.
    pub pool: usize,
}

/// Marks an output whose window held no positive value: ReLU zeroed it, so it passes no gradient.
const NONE: u32 = u32::MAX;

impl Dims {
    /// Side lengths of the convolution's output.
    fn conv_hw(&self) -> (usize, usize) {
        (self.h + 1 - self.k, self.w + 1 - self.k)
    }
    /// Side lengths of the block's output, after pooling.
    pub fn out_hw(&self) -> (usize, usize) {
        let (h, w) = self.conv_hw();
        (h / self.pool, w / self.pool)
    }
    /// Rows of an unfolded image: one per (input channel, kernel row, kernel column).
    fn patch(&self) -> usize {
        self.c_in * self.k * self.k
    }
    fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }
    fn out_len(&self) -> usize {
        let (h, w) = self.out_hw();
        self.c_out * h * w
    }
    /// Convolution outputs computed per channel: only those some pooling window reads (the
    /// pool drops the rest), ordered window position first (see [`im2col`]).
    fn conv_len(&self) -> usize {
        let (h, w) = self.out_hw();
        h * w * self.pool * self.pool
    }
}

/// Gradients of a block: `dx` only where the input needs one (the first block's images do not).
#[derive(Debug)]
pub struct Grads {
    pub dx: Option<Vec<f32>>,
    pub dw: Vec<f32>,
    pub db: Vec<f32>,
}

/// Images per rayon task: one run of images per thread, so each thread makes its scratch
/// buffers once and the gradient sums add up in the same order on every run.
fn per_task(d: &Dims) -> usize {
    d.batch.div_ceil(rayon::current_num_threads()).max(1)
}

/// One thread's working buffers: the image split by column phase, its unfolded columns, and
/// the convolution's output (or, backwards, its gradient).
struct Scratch {
    phases: Vec<f32>,
    cols: Vec<f32>,
    z: Vec<f32>,
}

impl Scratch {
    fn new(d: &Dims) -> Self {
        Self {
            phases: vec![0.0; phases_len(d)],
            cols: vec![0.0; d.patch() * d.conv_len()],
            z: vec![0.0; d.c_out * d.conv_len()],
        }
    }
}

/// Runs the block on `x` `[batch, c_in, h, w]` with weights `[c_out, c_in, k, k]` and bias
/// `[c_out]`; returns the output `[batch, c_out, h', w']` and, per output, which position of
/// its pooling window the maximum came from (what [`backward`] needs).
pub fn forward(d: &Dims, x: &[f32], weight: &[f32], bias: &[f32]) -> (Vec<f32>, Vec<u32>) {
    assert_eq!(x.len(), d.batch * d.in_len(), "block input");
    assert_eq!(weight.len(), d.c_out * d.patch(), "block weights");
    assert_eq!(bias.len(), d.c_out, "block bias");
    let (n_in, n_out, per) = (d.in_len(), d.out_len(), per_task(d));
    let mut y = vec![0.0; d.batch * n_out];
    let mut arg = vec![0; y.len()];
    let tasks = y
        .par_chunks_mut(per * n_out)
        .zip(arg.par_chunks_mut(per * n_out));
    tasks
        .zip(x.par_chunks(per * n_in))
        .for_each(|((y, arg), x)| {
            let mut s = Scratch::new(d);
            let images = y.chunks_exact_mut(n_out).zip(arg.chunks_exact_mut(n_out));
            for ((y, arg), x) in images.zip(x.chunks_exact(n_in)) {
                im2col(d, x, &mut s.phases, &mut s.cols);
                for (row, b) in s.z.chunks_exact_mut(d.conv_len()).zip(bias) {
                    row.fill(*b);
                }
                // z = bias + weight · cols
                let (k, n) = (d.patch(), d.conv_len());
                let (z, cols) = ((&mut s.z[..], Rows(n)), (&s.cols[..], Rows(n)));
                matmul([d.c_out, n, k], z, true, (weight, Rows(k)), cols, ONE);
                relu_pool(d, &s.z, y, arg);
            }
        });
    (y, arg)
}

/// Gradients of the block's loss with respect to its input, weights and bias, from the output
/// gradient `dy` and the `arg` that [`forward`] returned for the same `x`.
pub fn backward(
    d: &Dims,
    x: &[f32],
    weight: &[f32],
    arg: &[u32],
    dy: &[f32],
    need_dx: bool,
) -> Grads {
    assert_eq!(dy.len(), d.batch * d.out_len(), "block output gradient");
    assert_eq!(arg.len(), dy.len(), "block argmax");
    let (n_in, n_out, per) = (d.in_len(), d.out_len(), per_task(d));
    let (k, n) = (d.patch(), d.conv_len());
    let mut dx = vec![0.0; if need_dx { x.len() } else { d.batch }];
    let dx_per = dx.len() / d.batch;
    let tasks = x.par_chunks(per * n_in).zip(arg.par_chunks(per * n_out));
    let tasks = tasks
        .zip(dy.par_chunks(per * n_out))
        .zip(dx.par_chunks_mut(per * dx_per));
    let sums: Vec<Acc> = tasks
        .map(|(((x, arg), dy), dx)| {
            let mut acc = Acc::new(d);
            let s = &mut acc.scratch;
            let images = x.chunks_exact(n_in).zip(arg.chunks_exact(n_out));
            let images = images
                .zip(dy.chunks_exact(n_out))
                .zip(dx.chunks_exact_mut(dx_per));
            for (((x, arg), dy), dx) in images {
                unpool(d, arg, dy, &mut s.z, &mut acc.db);
                im2col(d, x, &mut s.phases, &mut s.cols);
                // dw += dz · colsᵀ
                let (dw, dz) = ((&mut acc.dw[..], Rows(k)), (&s.z[..], Rows(n)));
                matmul([d.c_out, k, n], dw, true, dz, (&s.cols, Cols(n)), ONE);
                if need_dx {
                    // dcols = weightᵀ · dz (into the cols buffer), folded back onto the image.
                    let (dcols, dz) = ((&mut s.cols[..], Rows(n)), (&s.z[..], Rows(n)));
                    matmul([k, n, d.c_out], dcols, false, (weight, Cols(k)), dz, ONE);
                    col2im(d, &s.cols, &mut s.phases, dx);
                }
            }
            acc
        })
        .collect();
    let sum = sums
        .into_iter()
        .reduce(Acc::add)
        .expect("a batch has images");
    Grads {
        dx: need_dx.then_some(dx),
        dw: sum.dw,
        db: sum.db,
    }
}

#[inline(always)]
fn unpool_any(d: &Dims, arg: &[u32], dy: &[f32], dz: &mut [f32], db: &mut [f32]) {
    let outs = d.out_len() / d.c_out;
    for (((dz, arg), dy), db) in dz
        .chunks_exact_mut(d.conv_len())
        .zip(arg.chunks_exact(outs))
        .zip(dy.chunks_exact(outs))
        .zip(db.iter_mut())
    {
        for (t, plane) in dz.chunks_exact_mut(outs).enumerate() {
            for ((dz, &a), &g) in plane.iter_mut().zip(arg).zip(dy) {
                *dz = if a == t as u32 { g } else { 0.0 };
            }
        }
        // Summed in 16 lanes, which vectorise; one running sum would be a chain of scalar adds.
        let mut lanes = [0.0f32; 16];
        for (arg, dy) in arg.chunks(16).zip(dy.chunks(16)) {
            for ((lane, &a), &g) in lanes.iter_mut().zip(arg).zip(dy) {
                *lane += if a != NONE { g } else { 0.0 };
            }
        }
        *db += lanes.iter().sum::<f32>();
    }
}

/// One rayon task's gradient sums and scratch buffers.
struct Acc {
    dw: Vec<f32>,
    db: Vec<f32>,
    scratch: Scratch,
}

impl Acc {
    fn new(d: &Dims) -> Self {
        Self {
            dw: vec![0.0; d.c_out * d.patch()],
            db: vec![0.0; d.c_out],
            scratch: Scratch::new(d),
        }
    }

    fn add(mut self, other: Acc) -> Acc {
        self.dw.iter_mut().zip(&other.dw).for_each(|(a, b)| *a += b);
        self.db.iter_mut().zip(&other.db).for_each(|(a, b)| *a += b);
        self
    }
}

with_avx2! {
    /// ReLU then max-pool of one image's convolution output `z` `[c_out, p·p·h'·w']`.
    fn relu_pool(d: &Dims, z: &[f32], y: &mut [f32], arg: &mut [u32]) => relu_pool_any
}

with_avx2! {
    /// The backward pass of [`relu_pool`] for one image: each output's gradient goes to the
    /// position its maximum came from, every other position of `dz` gets 0; `db` sums what passed.
    fn unpool(d: &Dims, arg: &[u32], dy: &[f32], dz: &mut [f32], db: &mut [f32]) => unpool_any
}

/// [`relu_pool`]: the window's p·p planes are compared whole, with selects instead of branches.
#[inline(always)]
fn relu_pool_any(d: &Dims, z: &[f32], y: &mut [f32], arg: &mut [u32]) {
    let outs = d.out_len() / d.c_out;
    for ((z, y), arg) in z
        .chunks_exact(d.conv_len())
        .zip(y.chunks_exact_mut(outs))
        .zip(arg.chunks_exact_mut(outs))
    {
        // Starting from 0 with no position applies the ReLU: only positive values win.
        y.fill(0.0);
        arg.fill(NONE);
        for (t, plane) in z.chunks_exact(outs).enumerate() {
            for ((y, arg), &v) in y.iter_mut().zip(arg.iter_mut()).zip(plane) {
                let gt = v > *y;
                *y = if gt { v } else { *y };
                *arg = if gt { t as u32 } else { *arg };
            }
        }
    }
}

/// Unfolds one image `[c_in, h, w]` into `[c_in·k·k, p·p·h'·w']`: row (c, i, j) holds the
/// pixels that kernel tap (i, j) of channel c meets at each convolution output a pooling window
/// reads. Columns go window position (r, s) first, then pooled output (y, x), so that pooling
/// compares whole contiguous planes: output (y·p + r, x·p + s) is column ((r·p + s)·h' + y)·w' + x.
/// Such a row of `w'` values reads every p-th pixel of an image row, so the image is first
/// split by column phase (see [`split_phases`]), which makes each row one contiguous copy.
fn im2col(d: &Dims, x: &[f32], phases: &mut [f32], cols: &mut [f32]) {
    split_phases(d, x, phases);
    let (_, wp) = d.out_hw();
    let mut rows = cols.chunks_exact_mut(wp);
    for_each_unfolded_row(d, |start| {
        let dst = rows.next().expect("cols holds every unfolded row");
        dst.copy_from_slice(&phases[start..start + wp]);
    });
}

/// The adjoint of [`im2col`]: adds each unfolded value back onto the pixel it came from.
fn col2im(d: &Dims, cols: &[f32], phases: &mut [f32], x: &mut [f32]) {
    phases.fill(0.0);
    let (_, wp) = d.out_hw();
    let mut rows = cols.chunks_exact(wp);
    for_each_unfolded_row(d, |start| {
        let src = rows.next().expect("cols holds every unfolded row");
        let dst = &mut phases[start..start + wp];
        dst.iter_mut().zip(src).for_each(|(x, v)| *x += v);
    });
    join_phases(d, phases, x);
}

/// Calls `f` with where in the phase-split image each row of `w'` unfolded values starts, in
/// [`im2col`]'s order.
fn for_each_unfolded_row(d: &Dims, mut f: impl FnMut(usize)) {
    let Dims {
        c_in,
        h,
        k,
        pool: p,
        ..
    } = *d;
    let (hp, _) = d.out_hw();
    let wq = d.w.div_ceil(p);
    for c in 0..c_in {
        for i in 0..k {
            for j in 0..k {
                for r in 0..p {
                    for s in 0..p {
                        let (phase, q) = ((s + j) % p, (s + j) / p);
                        for y in 0..hp {
                            f(((c * h + y * p + r + i) * p + phase) * wq + q);
                        }
                    }
                }
            }
        }
    }
}

/// Length of an image split by column phase.
fn phases_len(d: &Dims) -> usize {
    d.c_in * d.h * d.pool * d.w.div_ceil(d.pool)
}

with_avx2! {
    /// Splits each image row by column phase: `phases[c, y, φ, q] = x[c, y, q·p + φ]`, so that
    /// the every-p-th-pixel reads of [`im2col`] become contiguous.
    fn split_phases(d: &Dims, x: &[f32], phases: &mut [f32]) => split_phases_any
}

#[inline(always)]
fn split_phases_any(d: &Dims, x: &[f32], phases: &mut [f32]) {
    let (p, wq) = (d.pool, d.w.div_ceil(d.pool));
    for (src, dst) in x.chunks_exact(d.w).zip(phases.chunks_exact_mut(p * wq)) {
        if p == 2 {
            let (even, odd) = dst.split_at_mut(wq);
            for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(src.chunks_exact(2)) {
                (*e, *o) = (pair[0], pair[1]);
            }
            if d.w % 2 == 1 {
                even[wq - 1] = src[d.w - 1];
            }
        } else {
            for (q, chunk) in src.chunks(p).enumerate() {
                for (phase, &v) in chunk.iter().enumerate() {
                    dst[phase * wq + q] = v;
                }
            }
        }
    }
}

with_avx2! {
    /// The inverse of [`split_phases`].
    fn join_phases(d: &Dims, phases: &[f32], x: &mut [f32]) => join_phases_any
}

#[inline(always)]
fn join_phases_any(d: &Dims, phases: &[f32], x: &mut [f32]) {
    let (p, wq) = (d.pool, d.w.div_ceil(d.pool));
    for (dst, src) in x.chunks_exact_mut(d.w).zip(phases.chunks_exact(p * wq)) {
        if p == 2 {
            let (even, odd) = src.split_at(wq);
            for ((e, o), pair) in even.iter().zip(odd).zip(dst.chunks_exact_mut(2)) {
                (pair[0], pair[1]) = (*e, *o);
            }
            if d.w % 2 == 1 {
                dst[d.w - 1] = even[wq - 1];
            }
        } else {
            for (q, chunk) in dst.chunks_mut(p).enumerate() {
                for (phase, v) in chunk.iter_mut().enumerate() {
                    *v = src[phase * wq + q];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random vector in [-0.5, 0.5).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// The block written as its definition, in f64: convolution, ReLU, max-pool, and the
    /// gradients by the chain rule. Returns (y, dx, dw, db).
    fn reference(d: &Dims, x: &[f32], w: &[f32], b: &[f32], dy: &[f32]) -> [Vec<f32>; 4] {
        let (ho, wo) = d.conv_hw();
        let (hp, wp) = d.out_hw();
        let xi = |n: usize, c: usize, i: usize, j: usize| ((n * d.c_in + c) * d.h + i) * d.w + j;
        let wi = |o: usize, c: usize, i: usize, j: usize| ((o * d.c_in + c) * d.k + i) * d.k + j;
        let mut z = vec![0.0f64; d.batch * d.c_out * ho * wo];
        for n in 0..d.batch {
            for o in 0..d.c_out {
                for (i, j) in (0..ho).flat_map(|i| (0..wo).map(move |j| (i, j))) {
                    let mut s = f64::from(b[o]);
                    for c in 0..d.c_in {
                        for (ki, kj) in (0..d.k).flat_map(|a| (0..d.k).map(move |b| (a, b))) {
                            s += f64::from(x[xi(n, c, i + ki, j + kj)] * w[wi(o, c, ki, kj)]);
                        }
                    }
                    z[((n * d.c_out + o) * ho + i) * wo + j] = s.max(0.0);
                }
            }
        }
        let (mut y, mut dz) = (vec![0.0; dy.len()], vec![0.0f64; z.len()]);
        for (plane, out) in (0..d.batch * d.c_out).zip(y.chunks_exact_mut(hp * wp)) {
            for (o, v) in out.iter_mut().enumerate() {
                let (i, j) = (o / wp * d.pool, o % wp * d.pool);
                let window = (i..i + d.pool).flat_map(|r| (j..j + d.pool).map(move |c| (r, c)));
                let at = |(r, c)| (plane * ho + r) * wo + c;
                // The first maximum in row-major order takes the gradient; none if it is 0.
                let best = window
                    .map(at)
                    .reduce(|a, b| if z[b] > z[a] { b } else { a });
                let best = best.expect("a window has positions");
                *v = z[best] as f32;
                if z[best] > 0.0 {
                    dz[best] = f64::from(dy[plane * hp * wp + o]);
                }
            }
        }
        let (mut dx, mut dw, mut db) = (
            vec![0.0f64; x.len()],
            vec![0.0; w.len()],
            vec![0.0; b.len()],
        );
        for n in 0..d.batch {
            for o in 0..d.c_out {
                for (i, j) in (0..ho).flat_map(|i| (0..wo).map(move |j| (i, j))) {
                    let g = dz[((n * d.c_out + o) * ho + i) * wo + j];
                    db[o] += g;
                    for c in 0..d.c_in {
                        for (ki, kj) in (0..d.k).flat_map(|a| (0..d.k).map(move |b| (a, b))) {
                            let (xk, wk) = (xi(n, c, i + ki, j + kj), wi(o, c, ki, kj));
                            dw[wk] += g * f64::from(x[xk]);
                            dx[xk] += g * f64::from(w[wk]);
                        }
                    }
                }
            }
        }
        let f32s = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect();
        [y, f32s(dx), f32s(dw), f32s(db)]
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn forward_and_gradients_match_the_definition() {
        let shapes = [
            // Odd sizes, leftover rows and columns the pool drops, a 10×10 pool like the
            // turtle net's, and more images than threads.
            Dims {
                batch: 3,
                c_in: 2,
                h: 9,
                w: 8,
                c_out: 4,
                k: 3,
                pool: 2,
            },
            Dims {
                batch: 2,
                c_in: 3,
                h: 25,
                w: 23,
                c_out: 5,
                k: 3,
                pool: 10,
            },
            Dims {
                batch: 5,
                c_in: 1,
                h: 7,
                w: 6,
                c_out: 2,
                k: 2,
                pool: 2,
            },
            Dims {
                batch: 1,
                c_in: 4,
                h: 5,
                w: 5,
                c_out: 3,
                k: 2,
                pool: 1,
            },
        ];
        for (seed, d) in shapes.iter().enumerate() {
            let seed = seed as u64 * 4;
            let x = values(d.batch * d.in_len(), seed);
            let w = values(d.c_out * d.patch(), seed + 1);
            let b = values(d.c_out, seed + 2);
            let dy = values(d.batch * d.out_len(), seed + 3);
            let [ry, rdx, rdw, rdb] = reference(d, &x, &w, &b, &dy);
            let (y, arg) = forward(d, &x, &w, &b);
            assert!(max_diff(&y, &ry) < 1e-5, "{d:?}: y");
            let g = backward(d, &x, &w, &arg, &dy, true);
            assert!(max_diff(g.dx.as_ref().unwrap(), &rdx) < 1e-5, "{d:?}: dx");
            assert!(max_diff(&g.dw, &rdw) < 1e-4, "{d:?}: dw");
            assert!(max_diff(&g.db, &rdb) < 1e-5, "{d:?}: db");
            let without = backward(d, &x, &w, &arg, &dy, false);
            assert!(without.dx.is_none());
            assert_eq!(
                (without.dw, without.db),
                (g.dw, g.db),
                "{d:?}: dx changes nothing else"
            );
        }
    }

    #[test]
    fn outputs_no_window_made_positive_pass_no_gradient() {
        let d = Dims {
            batch: 1,
            c_in: 1,
            h: 3,
            w: 3,
            c_out: 1,
            k: 2,
            pool: 2,
        };
        let (y, arg) = forward(&d, &[1.0; 9], &[-1.0; 4], &[0.5]);
        assert_eq!((y, arg.clone()), (vec![0.0], vec![NONE]));
        let g = backward(&d, &[1.0; 9], &[-1.0; 4], &arg, &[1.0], true);
        assert_eq!(
            (g.dx.unwrap(), g.dw, g.db),
            (vec![0.0; 9], vec![0.0; 4], vec![0.0])
        );
    }
}
