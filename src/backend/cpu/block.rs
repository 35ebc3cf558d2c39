//! The conv → ReLU → max-pool block on burn's Flex with gpubench's own kernels (`conv.rs`),
//! and under autodiff with their backward pass registered as the block's gradient, so that burn
//! derives the rest of the net and Adam updates every parameter as before.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorMetadata;
use burn::tensor::ops::FloatTensor;

use super::conv::{self, Dims};
use super::flex::{floats, tensor};

type B = Autodiff<Flex>;

/// The block under autodiff: the kernels' forward pass, with their backward pass registered.
pub(super) fn tracked(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    pool: usize,
) -> FloatTensor<B> {
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    match BlockBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, arg, dims) = forward(&x.primitive, &weight.primitive, &bias.primitive, pool);
            let state = State {
                x: x.primitive,
                weight: weight.primitive,
                arg: Arc::new(arg),
                dims,
            };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(forward(&x.primitive, &weight.primitive, &bias.primitive, pool).0)
        }
    }
}

#[derive(Debug)]
struct BlockBackward;

/// What the backward pass needs from the forward one.
#[derive(Debug, Clone)]
struct State {
    x: FlexTensor,
    weight: FlexTensor,
    arg: Arc<Vec<u32>>,
    dims: Dims,
}

impl Backward<Flex, 3> for BlockBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w_node, b_node] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let State {
            x,
            weight,
            arg,
            dims: d,
        } = ops.state;
        let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
        let need_dx = x_node.is_some();
        let g = conv::backward(&d, floats(&x), floats(&weight), &arg, floats(&dy), need_dx);
        let shaped = [
            (x_node, g.dx, vec![d.batch, d.c_in, d.h, d.w]),
            (w_node, Some(g.dw), vec![d.c_out, d.c_in, d.k, d.k]),
            (b_node, Some(g.db), vec![d.c_out]),
        ];
        for (node, values, shape) in shaped {
            if let (Some(node), Some(values)) = (node, values) {
                grads.register::<Flex>(node.id, tensor(values, shape));
            }
        }
    }
}

/// Runs the kernels' forward pass on burn tensors; returns the output, where each output's
/// maximum came from, and the shapes.
pub(super) fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    pool: usize,
) -> (FlexTensor, Vec<u32>, Dims) {
    let [batch, c_in, h, w] = x.shape().dims();
    let [c_out, _, k, kw] = weight.shape().dims();
    assert_eq!(k, kw, "the block's kernels take square kernels");
    let dims = Dims {
        batch,
        c_in,
        h,
        w,
        c_out,
        k,
        pool,
    };
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
    );
    let (y, arg) = conv::forward(&dims, floats(&x), floats(&weight), floats(&bias));
    let (hp, wp) = dims.out_hw();
    (tensor(y, vec![batch, c_out, hp, wp]), arg, dims)
}

#[cfg(test)]
mod tests {
    use burn::backend::flex::FlexDevice;
    use burn::prelude::*;
    use burn::tensor::module::{conv2d, max_pool2d};
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Distribution, TensorPrimitive, activation::relu};

    use super::*;
    use crate::ops::LayerOps;

    fn block(x: Tensor<B, 4>, w: Tensor<B, 4>, b: Tensor<B, 1>, pool: usize) -> Tensor<B, 4> {
        let p = |t: TensorPrimitive<B>| t.tensor();
        let (x, w, b) = (
            p(x.into_primitive()),
            p(w.into_primitive()),
            p(b.into_primitive()),
        );
        Tensor::from_primitive(TensorPrimitive::Float(B::conv_relu_pool(x, w, b, pool)))
    }

    /// burn's own ops for the same block: what the GPU backends run.
    fn burns(x: Tensor<B, 4>, w: Tensor<B, 4>, b: Tensor<B, 1>, pool: usize) -> Tensor<B, 4> {
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let z = relu(conv2d(x, w, Some(b), options));
        max_pool2d(z, [pool; 2], [pool; 2], [0, 0], [1, 1], false)
    }

    fn max_diff<const D: usize>(a: Tensor<Flex, D>, b: Tensor<Flex, D>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn the_block_and_its_gradients_match_burns_ops() {
        let device = FlexDevice;
        // [batch, c_in, h, w], c_out, k, pool: keypoints' first block at a small size, and a
        // pool leaving rows and columns over.
        for ([n, c, h, wd], co, k, pool) in [([2, 1, 12, 12], 4, 3, 2), ([3, 2, 11, 13], 3, 2, 3)] {
            let normal = Distribution::Normal(0.0, 1.0);
            let x = Tensor::<B, 4>::random([n, c, h, wd], normal, &device).require_grad();
            let w = Tensor::<B, 4>::random([co, c, k, k], normal, &device).require_grad();
            let b = Tensor::<B, 1>::random([co], normal, &device).require_grad();
            let ours = block(x.clone(), w.clone(), b.clone(), pool);
            let theirs = burns(x.clone(), w.clone(), b.clone(), pool);
            assert_eq!(ours.dims(), theirs.dims());
            assert!(max_diff(ours.clone().inner(), theirs.clone().inner()) < 1e-5);

            let g = Tensor::<B, 4>::random(ours.dims(), normal, &device);
            let (ga, gb) = (
                (ours * g.clone()).sum().backward(),
                (theirs * g).sum().backward(),
            );
            let grad = |t: &Tensor<B, 4>, grads| t.grad(grads).expect("a gradient");
            assert!(max_diff(grad(&x, &ga), grad(&x, &gb)) < 1e-4, "dx");
            assert!(max_diff(grad(&w, &ga), grad(&w, &gb)) < 1e-4, "dw");
            assert!(
                max_diff(b.grad(&ga).unwrap(), b.grad(&gb).unwrap()) < 1e-4,
                "db"
            );
        }
    }

    #[test]
    fn inputs_without_gradients_get_none() {
        let device = FlexDevice;
        let x = Tensor::<B, 4>::ones([1, 1, 5, 5], &device);
        let w = Tensor::<B, 4>::ones([2, 1, 2, 2], &device).require_grad();
        let b = Tensor::<B, 1>::zeros([2], &device).require_grad();
        let grads = block(x.clone(), w.clone(), b.clone(), 2).sum().backward();
        assert!(x.grad(&grads).is_none());
        // Each of the 2×2 outputs per channel saw four ones through an all-ones 2×2 kernel.
        let dw: Vec<f32> = w.grad(&grads).unwrap().into_data().to_vec().unwrap();
        assert_eq!(dw, vec![4.0; 8]);
        let db: Vec<f32> = b.grad(&grads).unwrap().into_data().to_vec().unwrap();
        assert_eq!(db, vec![4.0; 2]);
    }
}
