//! Matrix products on the `gemm` crate (AVX-512 kernels where the CPU has them), for matrices
//! read from slices directly or transposed.

use gemm::{Parallelism, gemm};

/// How a matrix is read from a row-major slice: as stored (`Rows(row length)`) or transposed
/// (`Cols(row length of the stored matrix)`).
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    Rows(usize),
    Cols(usize),
}

impl Layout {
    /// (column stride, row stride) of the matrix as read.
    fn strides(self) -> (isize, isize) {
        match self {
            Layout::Rows(n) => (1, n as isize),
            Layout::Cols(n) => (n as isize, 1),
        }
    }

    /// Elements a `rows × cols` matrix read this way spans.
    fn reach(self, rows: usize, cols: usize) -> usize {
        let (cs, rs) = self.strides();
        match rows * cols {
            0 => 0,
            _ => (rows - 1) * rs as usize + (cols - 1) * cs as usize + 1,
        }
    }
}

/// `dst[m×n] (+)= lhs[m×k] · rhs[k×n]` for `[m, n, k]`, on this thread or on rayon's (`par`).
pub fn matmul(
    [m, n, k]: [usize; 3],
    (dst, d): (&mut [f32], Layout),
    add: bool,
    (lhs, l): (&[f32], Layout),
    (rhs, r): (&[f32], Layout),
    par: Parallelism,
) {
    assert!(d.reach(m, n) <= dst.len(), "matmul: destination too short");
    assert!(
        l.reach(m, k) <= lhs.len() && r.reach(k, n) <= rhs.len(),
        "matmul: operand too short"
    );
    let ((dcs, drs), (lcs, lrs), (rcs, rrs)) = (d.strides(), l.strides(), r.strides());
    // SAFETY: the asserts keep every element that m, n, k and the strides reach in bounds.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dcs,
            drs,
            add,
            lhs.as_ptr(),
            lcs,
            lrs,
            rhs.as_ptr(),
            rcs,
            rrs,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}
