//! Sea-turtle face / no-face: 198×198 RGB crops, the seed project's small CNN.

use std::path::Path;

use anyhow::Result;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use rand::Rng;

use super::synthetic::{add_blob, rng};
use super::{
    DataFlag, Dataset, EvalSums, OnBackend, ReadOption, ReadOptions, Workload, conv_macs,
};
use crate::ops::{LayerOps, TrainBackend, conv_relu_pool, dense};

mod hog;
pub mod images;
mod mlp_hog;
pub(super) mod synth;

pub use mlp_hog::TurtleHog;

/// Side of the square crops both models train on.
pub const SIDE: usize = 198;
const PLANE: usize = SIDE * SIDE;
/// Side of both max-pools, which stride by their size as Keras' `MaxPooling2D(10)` does.
const POOL: usize = 10;

#[derive(Debug, Clone, Copy)]
pub struct Turtle;

/// The seed's Keras CNN: conv30@3 → maxpool10 → conv30@3 → maxpool10 → dense50 → dense2.
#[derive(Module, Debug)]
pub struct TurtleCnn<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    fc: Linear<B>,
    out: Linear<B>,
    relu: Relu,
}

impl Workload for Turtle {
    type Model<B: Backend> = TurtleCnn<B>;

    fn on<B: TrainBackend, F: OnBackend<B>>(self, f: F) -> F::Output {
        f.run(self)
    }

    fn name(&self) -> &'static str {
        "turtle"
    }
    fn model_name(&self) -> &'static str {
        "cnn"
    }
    fn input_shape(&self) -> [usize; 3] {
        [3, SIDE, SIDE]
    }
    fn target_len(&self) -> usize {
        1
    }
    fn metric_name(&self) -> &'static str {
        "accuracy"
    }
    fn higher_is_better(&self) -> bool {
        true
    }
    /// Nine in ten crops told apart, on synthetic and real data alike.
    fn default_target(&self, _synthetic: bool) -> f64 {
        0.9
    }
    fn forward_macs(&self) -> u64 {
        conv_macs([196, 196], 30, [3, 3], 3)
            + conv_macs([17, 17], 30, [3, 3], 30)
            + 30 * 50
            + 50 * 2
    }

    fn largest_activation(&self) -> u64 {
        30 * 196 * 196 // conv1's output; its unfolded input is 27 × 196 × 196
    }

    fn init<B: Backend>(&self, device: &B::Device) -> TurtleCnn<B> {
        TurtleCnn {
            conv1: Conv2dConfig::new([3, 30], [3, 3]).init(device),
            conv2: Conv2dConfig::new([30, 30], [3, 3]).init(device),
            fc: LinearConfig::new(30, 50).init(device),
            out: LinearConfig::new(50, 2).init(device),
            relu: Relu::new(),
        }
    }

    fn forward<B: LayerOps>(&self, m: &TurtleCnn<B>, x: Tensor<B, 4>) -> Tensor<B, 2> {
        // 196 → 19, then 17 → 1.
        let x = conv_relu_pool(&m.conv1, POOL, x);
        let x = conv_relu_pool(&m.conv2, POOL, x);
        let x = m.relu.forward(dense(&m.fc, x.flatten(1, 3)));
        dense(&m.out, x)
    }

    fn loss<B: Backend>(
        &self,
        out: Tensor<B, 2>,
        y: Tensor<B, 2>,
        _mask: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let labels = y.reshape([out.dims()[0]]).int();
        CrossEntropyLossConfig::new()
            .init(&out.device())
            .forward(out, labels)
    }

    fn eval(&self, out: &[f32], y: &[f32], _mask: &[f32]) -> EvalSums {
        let mut s = EvalSums::default();
        for (logits, label) in out.chunks_exact(2).zip(y.chunks_exact(1)) {
            let (label, predicted) = self.classify(logits, label).expect("a classifier");
            let max = logits[0].max(logits[1]);
            let lse = max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
            s.loss_sum += f64::from(lse - logits[label]);
            s.metric_sum += f64::from(u8::from(predicted == label));
            s.loss_count += 1.0;
            s.metric_count += 1.0;
        }
        s
    }

    fn metric(&self, s: &EvalSums) -> f64 {
        s.metric_sum / s.metric_count
    }

    /// Labels are 0 = no face, 1 = face.
    fn classes(&self) -> &'static [&'static str] {
        &["noface", "face"]
    }

    fn classify(&self, logits: &[f32], y: &[f32]) -> Option<(usize, usize)> {
        Some((y[0] as usize, usize::from(logits[1] > logits[0])))
    }

    fn data_flag(&self) -> Option<DataFlag> {
        Some(DataFlag {
            long: "data-turtle",
            value_name: "DIR",
            help: "Turtle images: the seed's crops (face/, noface/) or the raw Kaggle layout \
                   (images/ with labels/*.txt or labels.csv), from which crops are cut",
        })
    }

    fn read_options(&self) -> &'static [ReadOption] {
        &[ReadOption::SkipBad]
    }

    fn read(&self, path: &Path, options: &ReadOptions, seed: u64) -> Result<Dataset> {
        images::load(path, seed, options.skip_bad)
    }

    /// Mottled sand-and-water backgrounds; "face" images add a warm brown head with dark scutes.
    fn synthetic(&self, n: usize, seed: u64) -> Dataset {
        let mut r = rng(seed, 2);
        let mut d = Dataset {
            x: vec![0.0; n * 3 * PLANE],
            y: vec![0.0; n],
            mask: vec![1.0; n],
            kind: "synthetic",
            skipped: 0,
        };
        for i in 0..n {
            let img = &mut d.x[i * 3 * PLANE..(i + 1) * 3 * PLANE];
            let base = [
                r.random_range(0.1..0.4),
                r.random_range(0.3..0.6),
                r.random_range(0.4..0.7),
            ];
            for (c, plane) in img.chunks_exact_mut(PLANE).enumerate() {
                plane
                    .iter_mut()
                    .for_each(|p| *p = base[c] + 0.15 * r.random::<f32>());
            }
            let face = r.random::<bool>();
            d.y[i] = f32::from(u8::from(face));
            if face {
                let (cx, cy) = (r.random_range(60.0..138.0), r.random_range(60.0..138.0));
                let sigma = r.random_range(18.0..30.0);
                for (c, amp) in [0.45f32, 0.2, -0.3].into_iter().enumerate() {
                    add_blob(
                        &mut img[c * PLANE..(c + 1) * PLANE],
                        SIDE,
                        cx,
                        cy,
                        sigma,
                        amp,
                    );
                }
                for _ in 0..6 {
                    let (sx, sy) = (
                        cx + r.random_range(-sigma..sigma),
                        cy + r.random_range(-sigma..sigma),
                    );
                    for plane in img.chunks_exact_mut(PLANE) {
                        add_blob(plane, SIDE, sx, sy, 4.0, -0.25);
                    }
                }
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::backend::flex::FlexDevice;

    #[test]
    fn seed_cnn_has_the_keras_parameter_count() {
        // Keras summary of the seed: 840 + 8,130 + 1,550 + 102.
        assert_eq!(Turtle.init::<Flex>(&FlexDevice).num_params(), 10_622);
    }

    #[test]
    fn flops_match_a_hand_count() {
        assert_eq!(
            Turtle.forward_macs(),
            196 * 196 * 30 * 27 + 17 * 17 * 30 * 270 + 1_500 + 100
        );
        assert_eq!(Turtle.flops_per_image(), 200_756_760);
    }

    #[test]
    fn forward_gives_two_logits_per_image() {
        let d = FlexDevice;
        let x = Tensor::<Flex, 4>::zeros([2, 3, SIDE, SIDE], &d);
        assert_eq!(Turtle.forward(&Turtle.init::<Flex>(&d), x).dims(), [2, 2]);
    }

    #[test]
    fn eval_counts_accuracy_and_cross_entropy() {
        let s = Turtle.eval(&[0.0, 2.0, 1.0, 0.0, 0.0, 0.0], &[1.0, 1.0, 0.0], &[1.0; 3]);
        assert_eq!(s.metric_sum, 2.0); // first right, second wrong, third a tie read as class 0
        assert_eq!(Turtle.metric(&s), 2.0 / 3.0);
        let ce = |logits: [f32; 2], y: usize| {
            let lse = (logits[0].exp() + logits[1].exp()).ln();
            f64::from(lse - logits[y])
        };
        let want = ce([0.0, 2.0], 1) + ce([1.0, 0.0], 1) + ce([0.0, 0.0], 0);
        assert!((s.loss_sum - want).abs() < 1e-6);
    }

    #[test]
    fn synthetic_classes_are_balanced_and_deterministic() {
        let a = Turtle.synthetic(100, 3);
        assert_eq!(a, Turtle.synthetic(100, 3));
        let faces = a.y.iter().filter(|&&v| v == 1.0).count();
        assert!((30..=70).contains(&faces));
        assert!(a.x.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
