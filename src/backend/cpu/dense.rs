//! Dense layers on burn's Flex: `y = x · w + b` with `w` `[d_in, d_out]`, as burn's `Linear`
//! stores it. burn's matmul hands a product to gemm's own threads, which split the keypoints
//! net's first dense layer (32 × 15,488 · 15,488 × 500) so badly that two threads ran at less
//! than half the speed of one; here each thread takes a slice of the inner dimension and the
//! partial products are summed. The backward products have a long side to share out, so they
//! stay on gemm's threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorMetadata;
use burn::tensor::ops::FloatTensor;
use gemm::Parallelism;
use rayon::prelude::*;

use super::gemm::Layout::{Cols, Rows};
use super::gemm::matmul;
use super::flex::{floats, tensor};

/// The layer under autodiff: [`forward`], with [`DenseBackward`] registered.
pub(super) fn tracked(
    x: FloatTensor<Autodiff<Flex>>,
    weight: FloatTensor<Autodiff<Flex>>,
    bias: FloatTensor<Autodiff<Flex>>,
) -> FloatTensor<Autodiff<Flex>> {
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    let y = forward(&x.primitive, &weight.primitive, &bias.primitive);
    match DenseBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x.primitive, weight.primitive), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

/// `x · weight + bias` for `x` `[batch, d_in]`.
pub(super) fn forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let [batch, d_in] = x.shape().dims();
    let [_, d_out] = weight.shape().dims();
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
    );
    let (x, w) = (floats(&x), floats(&weight));
    let slice = d_in.div_ceil(rayon::current_num_threads()).max(1);
    let partial = |k0: usize| {
        let k = slice.min(d_in - k0);
        let mut y = vec![0.0; batch * d_out];
        let (xs, ws) = ((&x[k0..], Rows(d_in)), (&w[k0 * d_out..], Rows(d_out)));
        matmul(
            [batch, d_out, k],
            (&mut y, Rows(d_out)),
            false,
            xs,
            ws,
            Parallelism::None,
        );
        y
    };
    let starts: Vec<usize> = (0..d_in).step_by(slice).collect();
    let sums = starts.into_par_iter().map(partial).collect::<Vec<_>>();
    let sum = |mut a: Vec<f32>, b: Vec<f32>| {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        a
    };
    let mut y = sums.into_iter().reduce(sum).expect("d_in > 0");
    for row in y.chunks_exact_mut(d_out) {
        row.iter_mut().zip(floats(&bias)).for_each(|(y, b)| *y += b);
    }
    tensor(y, vec![batch, d_out])
}

#[derive(Debug)]
struct DenseBackward;

impl Backward<Flex, 3> for DenseBackward {
    /// The layer's input and weights.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w_node, b_node] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, weight) = (ops.state.0.to_contiguous(), ops.state.1.to_contiguous());
        let [batch, d_in] = x.shape().dims();
        let [_, d_out] = weight.shape().dims();
        let (x, w, dy) = (floats(&x), floats(&weight), floats(&dy));
        let threads = Parallelism::Rayon(0);
        if let Some(node) = x_node {
            // dx = dy · wᵀ, computed as dxᵀ = w · dyᵀ (written transposed), which shares out
            // the long d_in side.
            let mut dx = vec![0.0; batch * d_in];
            let (dxt, dyt) = ((&mut dx[..], Cols(d_in)), (dy, Cols(d_out)));
            matmul(
                [d_in, batch, d_out],
                dxt,
                false,
                (w, Rows(d_out)),
                dyt,
                threads,
            );
            grads.register::<Flex>(node.id, tensor(dx, vec![batch, d_in]));
        }
        if let Some(node) = w_node {
            // dw = xᵀ · dy
            let mut dw = vec![0.0; d_in * d_out];
            let (xt, dys) = ((x, Cols(d_in)), (dy, Rows(d_out)));
            matmul(
                [d_in, d_out, batch],
                (&mut dw, Rows(d_out)),
                false,
                xt,
                dys,
                threads,
            );
            grads.register::<Flex>(node.id, tensor(dw, vec![d_in, d_out]));
        }
        if let Some(node) = b_node {
            let mut db = vec![0.0; d_out];
            for row in dy.chunks_exact(d_out) {
                db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
            }
            grads.register::<Flex>(node.id, tensor(db, vec![d_out]));
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::flex::FlexDevice;
    use burn::prelude::*;
    use burn::tensor::{Distribution, TensorPrimitive};

    use crate::ops::LayerOps;

    type B = burn::backend::Autodiff<burn::backend::Flex>;

    fn max_diff<const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
        (a.inner() - b.inner()).abs().max().into_scalar()
    }

    #[test]
    fn the_layer_and_its_gradients_match_burns_linear() {
        let device = FlexDevice;
        let normal = Distribution::Normal(0.0, 1.0);
        // More inner products than threads, and an inner size no thread count divides.
        let x = Tensor::<B, 2>::random([5, 37], normal, &device).require_grad();
        let w = Tensor::<B, 2>::random([37, 7], normal, &device).require_grad();
        let b = Tensor::<B, 1>::random([7], normal, &device).require_grad();
        let raw = |t: TensorPrimitive<B>| t.tensor();
        let ours = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(B::dense(
            raw(x.clone().into_primitive()),
            raw(w.clone().into_primitive()),
            raw(b.clone().into_primitive()),
        )));
        let theirs = burn::tensor::module::linear(x.clone(), w.clone(), Some(b.clone()));
        assert!(max_diff(ours.clone(), theirs.clone()) < 1e-5);

        let g = Tensor::<B, 2>::random([5, 7], normal, &device);
        let (ga, gb) = (
            (ours * g.clone()).sum().backward(),
            (theirs * g).sum().backward(),
        );
        let grad = |t: &Tensor<B, 2>, grads| Tensor::from_inner(t.grad(grads).unwrap());
        assert!(max_diff(grad(&x, &ga), grad(&x, &gb)) < 1e-5, "dx");
        assert!(max_diff(grad(&w, &ga), grad(&w, &gb)) < 1e-5, "dw");
        let db = |grads| Tensor::<B, 1>::from_inner(b.grad(grads).unwrap());
        assert!(max_diff(db(&ga), db(&gb)) < 1e-5, "db");
    }
}
