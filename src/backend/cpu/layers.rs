//! [`LayerOps`] on burn's Flex: both layers on gpubench's own kernels (`block.rs`, `dense.rs`),
//! with their backward passes registered under autodiff, or on burn's ops (`--cpu-ops burn`).

use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::Backend;
use burn::tensor::ops::FloatTensor;

use super::choice::{CpuOps, cpu_ops, perturbation};
use super::{block, dense};
use crate::ops::{LayerOps, conv_relu_pool_with_ops, dense_with_ops};

impl LayerOps for Flex {
    fn conv_relu_pool(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        pool: usize,
    ) -> FlexTensor {
        match cpu_ops() {
            CpuOps::Burn => conv_relu_pool_with_ops::<Self>(x, weight, bias, pool),
            CpuOps::Gpubench => perturbed::<Self>(block::forward(&x, &weight, &bias, pool).0),
        }
    }

    fn dense(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        match cpu_ops() {
            CpuOps::Burn => dense_with_ops::<Self>(x, weight, bias),
            CpuOps::Gpubench => dense::forward(&x, &weight, &bias),
        }
    }
}

impl LayerOps for Autodiff<Flex> {
    fn conv_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self> {
        match cpu_ops() {
            CpuOps::Burn => conv_relu_pool_with_ops::<Self>(x, weight, bias, pool),
            CpuOps::Gpubench => perturbed::<Self>(block::tracked(x, weight, bias, pool)),
        }
    }

    fn dense(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match cpu_ops() {
            CpuOps::Burn => dense_with_ops::<Self>(x, weight, bias),
            CpuOps::Gpubench => dense::tracked(x, weight, bias),
        }
    }
}

/// The own convolution's output with the parity test's deliberate error, if one is set.
fn perturbed<B: Backend>(out: FloatTensor<B>) -> FloatTensor<B> {
    match perturbation() {
        Some(factor) => B::float_mul_scalar(out, factor.into()),
        None => out,
    }
}
