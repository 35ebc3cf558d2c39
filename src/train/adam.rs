//! The optimizer both workloads train with: Adam with burn's defaults (β₁ 0.9, β₂ 0.999,
//! ε 1e-5) and burn's `Adam` formula, with the update done by the backend's [`AdamStep`], so
//! that the cpu backend makes one pass over each parameter instead of thirteen.

use burn::optim::{LearningRate, SimpleOptimizer};
use burn::prelude::*;
use burn::record::Record;
use burn::tensor::TensorPrimitive;

use crate::ops::{AdamArgs, AdamStep};

#[derive(Debug, Clone, Copy)]
pub struct Adam;

/// Adam's state for one parameter: the step count and both moments.
#[derive(Record, Clone)]
pub struct Moments<B: Backend, const D: usize> {
    time: usize,
    m: Tensor<B, D>,
    v: Tensor<B, D>,
}

impl<B: AdamStep> SimpleOptimizer<B> for Adam {
    type State<const D: usize> = Moments<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        param: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Moments<B, D>>,
    ) -> (Tensor<B, D>, Option<Moments<B, D>>) {
        let time = state.as_ref().map_or(1, |s| s.time + 1);
        let raw = |t: Tensor<B, D>| t.into_primitive().tensor();
        let args = AdamArgs {
            lr,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            time: time as i32,
        };
        let moments = state.map(|s| (raw(s.m), raw(s.v)));
        let [p, m, v] = B::adam_step(raw(param), raw(grad), moments, args);
        let tensor = |t| Tensor::from_primitive(TensorPrimitive::Float(t));
        let (m, v) = (tensor(m), tensor(v));
        (tensor(p), Some(Moments { time, m, v }))
    }

    fn to_device<const D: usize>(s: Moments<B, D>, device: &B::Device) -> Moments<B, D> {
        Moments {
            time: s.time,
            m: s.m.to_device(device),
            v: s.v.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::flex::FlexDevice;
    use burn::backend::{Autodiff, Flex};
    use burn::module::AutodiffModule;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::adaptor::OptimizerAdaptor;
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::tensor::Distribution;

    use super::*;

    type B = Autodiff<Flex>;

    /// The weights of `start` after three steps of `optim` on a fixed batch.
    fn trained(
        start: &Linear<B>,
        x: &Tensor<B, 2>,
        mut optim: impl Optimizer<Linear<B>, B>,
    ) -> Vec<f32> {
        let mut model = start.clone();
        for _ in 0..3 {
            let loss = model.forward(x.clone()).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        model.valid().weight.val().into_data().to_vec().unwrap()
    }

    #[test]
    fn trains_as_burns_own_adam_does() {
        let device = FlexDevice;
        let start: Linear<B> = LinearConfig::new(6, 3).init(&device);
        // Parameters are drawn when first read; read them before cloning, or each clone
        // would draw its own.
        let before: Vec<f32> = start.weight.val().into_data().to_vec().unwrap();
        let _ = start.bias.as_ref().map(|b| b.val());
        let x = Tensor::<B, 2>::random([4, 6], Distribution::Normal(0.0, 1.0), &device);
        let ours = trained(&start, &x, OptimizerAdaptor::from(Adam));
        let burns = trained(&start, &x, AdamConfig::new().init());
        assert_ne!(ours, before, "the weights moved");
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
