//! Operations a backend may run with kernels of its own: the layers both CNNs are built from
//! (conv → ReLU → max-pool blocks, dense layers) and Adam's update. The cpu backend does
//! (`cpu/`): through burn's generic ops Flex trains these nets at a fifth of TensorFlow's speed
//! (issue 8). The GPU backends take the defaults, which are burn's own ops.

use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::prelude::{Backend, Tensor};
use burn::tensor::TensorPrimitive;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::{ConvOptions, FloatTensor};

pub trait LayerOps: Backend {
    /// `max_pool(relu(conv(x, weight) + bias))`: a 'valid' convolution with stride 1 of
    /// `x` `[batch, c_in, h, w]` and `weight` `[c_out, c_in, k, k]`, then a `pool`×`pool`
    /// max-pool with stride `pool` that drops the rows and columns left over.
    fn conv_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self> {
        conv_relu_pool_with_ops::<Self>(x, weight, bias, pool)
    }

    /// `x · weight + bias` for `x` `[batch, d_in]` and `weight` `[d_in, d_out]`, as burn's
    /// `Linear` stores it.
    fn dense(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        dense_with_ops::<Self>(x, weight, bias)
    }
}

/// [`LayerOps::conv_relu_pool`] as burn's ops: a convolution, a ReLU and a max-pool.
pub fn conv_relu_pool_with_ops<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    pool: usize,
) -> FloatTensor<B> {
    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let z = B::relu(B::conv2d(x, weight, Some(bias), options));
    B::max_pool2d(z, [pool; 2], [pool; 2], [0, 0], [1, 1], false)
}

/// [`LayerOps::dense`] as burn's `linear` op.
pub fn dense_with_ops<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    B::linear(x, weight, Some(bias))
}

/// Adam's hyper-parameters and where a step stands, for [`AdamStep::adam_step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamArgs {
    pub lr: f64,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// This step's number, from 1.
    pub time: i32,
}

impl AdamArgs {
    /// The bias corrections folded into the step size and ε, as burn's `Adam` does:
    /// `param −= lr·c·m / (√v + ε·√(1 − β₂ᵗ))` with `c = √(1 − β₂ᵗ) / (1 − β₁ᵗ)`.
    pub fn step_size_and_epsilon(&self) -> (f32, f32) {
        let root = (1.0 - self.beta_2.powi(self.time)).sqrt();
        let c = root / (1.0 - self.beta_1.powi(self.time));
        (self.lr as f32 * c, self.epsilon * root)
    }
}

pub trait AdamStep: Backend {
    /// One Adam update of `param` with `grad`, given the moments `m` and `v` after the previous
    /// step (none before the first); returns the new parameter and moments.
    fn adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moments: Option<(FloatTensor<Self>, FloatTensor<Self>)>,
        a: AdamArgs,
    ) -> [FloatTensor<Self>; 3] {
        adam_with_ops::<Self>(param, grad, moments, a)
    }
}

/// [`AdamStep::adam_step`] as burn's tensor ops, one per term.
pub fn adam_with_ops<B: Backend>(
    param: FloatTensor<B>,
    grad: FloatTensor<B>,
    moments: Option<(FloatTensor<B>, FloatTensor<B>)>,
    a: AdamArgs,
) -> [FloatTensor<B>; 3] {
    let (b1, b2) = (f64::from(a.beta_1), f64::from(a.beta_2));
    let g2 = B::float_mul(grad.clone(), grad.clone());
    let (m, v) = (
        B::float_mul_scalar(grad, (1.0 - b1).into()),
        B::float_mul_scalar(g2, (1.0 - b2).into()),
    );
    let (m, v) = match moments {
        Some((m0, v0)) => (
            B::float_add(B::float_mul_scalar(m0, b1.into()), m),
            B::float_add(B::float_mul_scalar(v0, b2.into()), v),
        ),
        None => (m, v),
    };
    let (step, eps) = a.step_size_and_epsilon();
    let denominator = B::float_add_scalar(B::float_sqrt(v.clone()), eps.into());
    let update = B::float_div(B::float_mul_scalar(m.clone(), step.into()), denominator);
    [B::float_sub(param, update), m, v]
}

/// A backend gpubench trains on: autodiff over an inner backend, with [`LayerOps`] on both
/// and [`AdamStep`] on the inner one, where optimizers run.
pub trait TrainBackend: AutodiffBackend<InnerBackend: LayerOps + AdamStep> + LayerOps {}

impl<B: AutodiffBackend<InnerBackend: LayerOps + AdamStep> + LayerOps> TrainBackend for B {}

/// `conv`'s block with a `pool`×`pool` max-pool (see [`LayerOps::conv_relu_pool`]); `conv`
/// must be a 'valid' convolution with stride 1 and a bias, as both nets' are.
pub fn conv_relu_pool<B: LayerOps>(conv: &Conv2d<B>, pool: usize, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let bias = conv
        .bias
        .as_ref()
        .expect("the nets' convolutions have biases");
    let (w, b) = (raw(conv.weight.val()), raw(bias.val()));
    Tensor::from_primitive(TensorPrimitive::Float(B::conv_relu_pool(
        raw(x),
        w,
        b,
        pool,
    )))
}

/// `layer` applied to `x` `[batch, d_in]` (see [`LayerOps::dense`]); the nets' dense layers
/// all have biases.
pub fn dense<B: LayerOps>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let bias = layer
        .bias
        .as_ref()
        .expect("the nets' dense layers have biases");
    let (w, b) = (raw(layer.weight.val()), raw(bias.val()));
    Tensor::from_primitive(TensorPrimitive::Float(B::dense(raw(x), w, b)))
}

fn raw<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}
