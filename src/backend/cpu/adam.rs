//! [`AdamStep`] on burn's Flex as one pass over each parameter: burn's `Adam` makes thirteen
//! (a new tensor per scalar or element-wise op), which on the keypoints net's 8 M parameters
//! took about a sixth of a cpu training step. Same formula (see [`AdamArgs`]), updated in place
//! where Flex hands over the only copy of a buffer.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::TensorMetadata;
use rayon::prelude::*;

use super::choice::{CpuOps, cpu_ops};
use super::flex::{floats, tensor};
use crate::ops::{AdamArgs, AdamStep, adam_with_ops};

/// Parameters per rayon task: large enough to amortise the task, small enough to share out.
const CHUNK: usize = 1 << 16;

impl AdamStep for Flex {
    fn adam_step(
        param: FlexTensor,
        grad: FlexTensor,
        moments: Option<(FlexTensor, FlexTensor)>,
        a: AdamArgs,
    ) -> [FlexTensor; 3] {
        if cpu_ops() == CpuOps::Burn {
            return adam_with_ops::<Self>(param, grad, moments, a);
        }
        let shape = param.shape().to_vec();
        let mut p = into_vec(param);
        let (mut m, mut v) = match moments {
            Some((m, v)) => (into_vec(m), into_vec(v)),
            None => (vec![0.0; p.len()], vec![0.0; p.len()]),
        };
        let grad = grad.to_contiguous();
        let g = floats(&grad);
        assert!(g.len() == p.len() && m.len() == p.len() && v.len() == p.len());
        let (b1, b2) = (a.beta_1, a.beta_2);
        let (step, eps) = a.step_size_and_epsilon();
        let chunks = p.par_chunks_mut(CHUNK).zip(m.par_chunks_mut(CHUNK));
        let chunks = chunks.zip(v.par_chunks_mut(CHUNK)).zip(g.par_chunks(CHUNK));
        chunks.for_each(|(((p, m), v), g)| {
            for (((p, m), v), &g) in p.iter_mut().zip(m).zip(v).zip(g) {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= step * *m / (v.sqrt() + eps);
            }
        });
        [p, m, v].map(|values| tensor(values, shape.clone()))
    }
}

/// The values of `t`, without a copy where `t` is the only owner of a contiguous buffer.
fn into_vec(t: FlexTensor) -> Vec<f32> {
    t.into_data().into_vec().expect("the nets train in f32")
}

#[cfg(test)]
mod tests {
    use burn::backend::flex::FlexDevice;
    use burn::prelude::*;
    use burn::tensor::TensorPrimitive;

    use super::*;

    fn flex(values: &[f32]) -> FlexTensor {
        Tensor::<Flex, 1>::from_floats(values, &FlexDevice)
            .into_primitive()
            .tensor()
    }

    fn floats(t: FlexTensor) -> Vec<f32> {
        Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(t))
            .into_data()
            .to_vec()
            .unwrap()
    }

    #[test]
    fn one_pass_matches_the_tensor_ops_over_several_steps() {
        let args = |time| AdamArgs {
            lr: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            time,
        };
        let grads = [
            [0.5, -2.0, 1e-3, 0.0],
            [0.4, -1.0, 3.0, -0.2],
            [-0.1, 0.0, 2.0, 1.0],
        ];
        let start = [1.0, -0.5, 0.25, 0.0];
        let (mut ours, mut theirs): (Option<[FlexTensor; 3]>, Option<[FlexTensor; 3]>) =
            (None, None);
        for (t, g) in grads.iter().enumerate() {
            let a = args(t as i32 + 1);
            let step = |state: Option<[FlexTensor; 3]>, fused: bool| {
                let (p, moments) = match state {
                    Some([p, m, v]) => (p, Some((m, v))),
                    None => (flex(&start), None),
                };
                if fused {
                    Flex::adam_step(p, flex(g), moments, a)
                } else {
                    // burn's tensor ops for the same step: what the GPU backends run.
                    adam_with_ops::<Flex>(p, flex(g), moments, a)
                }
            };
            ours = Some(step(ours, true));
            theirs = Some(step(theirs, false));
        }
        for (a, b) in ours.unwrap().into_iter().zip(theirs.unwrap()) {
            for (a, b) in floats(a).into_iter().zip(floats(b)) {
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }
}
