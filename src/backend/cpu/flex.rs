//! Between burn's Flex tensors and the plain f32 slices gpubench's kernels work on.

use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;

/// The values of a contiguous f32 tensor (call `to_contiguous` first).
pub(super) fn floats(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("the nets train in f32, and a contiguous tensor is one slice")
}

pub(super) fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
