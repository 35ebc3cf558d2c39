//! [`LayerOps`] on burn's Flex: both layers on gpubench's own kernels (`block.rs`, `dense.rs`),
//! with their backward passes registered under autodiff.

use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorData;
use burn::tensor::ops::FloatTensor;

use super::{block, dense};
use crate::backend::LayerOps;

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

/// The values of a contiguous f32 tensor (call `to_contiguous` first).
pub(super) fn floats(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("the nets train in f32, and a contiguous tensor is one slice")
}

pub(super) fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
