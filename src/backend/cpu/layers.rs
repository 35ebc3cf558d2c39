//! [`LayerOps`] on burn's Flex: both layers on gpubench's own kernels (`block.rs`, `dense.rs`),
//! with their backward passes registered under autodiff.

use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::FloatTensor;

use super::{block, dense};
use crate::ops::LayerOps;

impl LayerOps for Flex {
    fn conv_relu_pool(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        pool: usize,
    ) -> FlexTensor {
        block::forward(&x, &weight, &bias, pool).0
    }

    fn dense(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        dense::forward(&x, &weight, &bias)
    }
}

impl LayerOps for Autodiff<Flex> {
    fn conv_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self> {
        block::tracked(x, weight, bias, pool)
    }

    fn dense(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        dense::tracked(x, weight, bias)
    }
}
