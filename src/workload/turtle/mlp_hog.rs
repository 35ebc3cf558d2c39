//! The seed's turtle baseline: HOG features of the gray crop (6084 per image) feeding a small
//! MLP, trained by burn like the CNN so the two sit side by side in a report.

use std::path::Path;

use anyhow::Result;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use rayon::prelude::*;

use super::Turtle;
use super::hog::{self, HOG_LEN};
use crate::ops::{LayerOps, TrainBackend, dense};
use crate::workload::{
    DataFlag, Dataset, EvalSums, OnBackend, ReadOption, ReadOptions, Workload,
};

/// Hidden units: sklearn's `MLPClassifier(hidden_layer_sizes=(4,))` of the seed.
const HIDDEN: usize = 4;

#[derive(Debug, Clone, Copy)]
pub struct TurtleHog;

#[derive(Module, Debug)]
pub struct HogMlp<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
    relu: Relu,
}

impl Workload for TurtleHog {
    type Model<B: Backend> = HogMlp<B>;

    fn on<B: TrainBackend, F: OnBackend<B>>(self, f: F) -> F::Output {
        f.run(self)
    }

    fn name(&self) -> &'static str {
        "turtle"
    }
    fn model_name(&self) -> &'static str {
        "mlp-hog"
    }
    fn input_shape(&self) -> [usize; 3] {
        [1, 1, HOG_LEN]
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
    /// The MLP only: HOG is computed once on the host while loading, not per step.
    fn forward_macs(&self) -> u64 {
        (HOG_LEN * HIDDEN + HIDDEN * 2) as u64
    }
    fn largest_activation(&self) -> u64 {
        HOG_LEN as u64
    }

    fn init<B: Backend>(&self, device: &B::Device) -> HogMlp<B> {
        HogMlp {
            hidden: LinearConfig::new(HOG_LEN, HIDDEN).init(device),
            out: LinearConfig::new(HIDDEN, 2).init(device),
            relu: Relu::new(),
        }
    }

    fn forward<B: LayerOps>(&self, m: &HogMlp<B>, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = m.relu.forward(dense(&m.hidden, x.flatten(1, 3)));
        dense(&m.out, x)
    }

    fn loss<B: Backend>(
        &self,
        out: Tensor<B, 2>,
        y: Tensor<B, 2>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        Turtle.loss(out, y, mask)
    }
    fn eval(&self, out: &[f32], y: &[f32], mask: &[f32]) -> EvalSums {
        Turtle.eval(out, y, mask)
    }
    fn metric(&self, s: &EvalSums) -> f64 {
        Turtle.metric(s)
    }
    fn classes(&self) -> &'static [&'static str] {
        Turtle.classes()
    }
    fn classify(&self, out: &[f32], y: &[f32]) -> Option<(usize, usize)> {
        Turtle.classify(out, y)
    }

    fn synthetic(&self, n: usize, seed: u64) -> Dataset {
        features(Turtle.synthetic(n, seed))
    }

    /// The turtle crops (the CNN's `--data-turtle`), turned into HOG features.
    fn data_flag(&self) -> Option<DataFlag> {
        Turtle.data_flag()
    }

    fn read_options(&self) -> &'static [ReadOption] {
        Turtle.read_options()
    }

    fn read(&self, path: &Path, options: &ReadOptions, seed: u64) -> Result<Dataset> {
        Ok(features(Turtle.read(path, options, seed)?))
    }
}

/// HOG of every 198×198 crop, then each feature standardised over the dataset (the seed's
/// `StandardScaler`; statistics of the whole set, a small leak the seed had too).
fn features(d: Dataset) -> Dataset {
    let [c, h, w] = Turtle.input_shape();
    let mut x: Vec<f32> =
        d.x.par_chunks_exact(c * h * w)
            .flat_map_iter(|img| hog::features(img, h))
            .collect();
    standardize(&mut x, HOG_LEN);
    Dataset { x, ..d }
}

/// Scales each of the `width` columns of row-major `x` to mean 0 and standard deviation 1;
/// constant columns become 0.
fn standardize(x: &mut [f32], width: usize) {
    let n = (x.len() / width) as f64;
    let mut mean = vec![0f64; width];
    let mut sq = vec![0f64; width];
    for row in x.chunks_exact(width) {
        for ((m, s), v) in mean.iter_mut().zip(&mut sq).zip(row) {
            *m += f64::from(*v);
            *s += f64::from(*v) * f64::from(*v);
        }
    }
    let scale: Vec<(f32, f32)> = mean
        .iter()
        .zip(&sq)
        .map(|(m, s)| {
            let mean = m / n;
            let std = (s / n - mean * mean).max(0.0).sqrt();
            (
                mean as f32,
                if std > 1e-12 { 1.0 / std as f32 } else { 0.0 },
            )
        })
        .collect();
    for row in x.chunks_exact_mut(width) {
        for (v, (m, inv)) in row.iter_mut().zip(&scale) {
            *v = (*v - m) * inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::backend::flex::FlexDevice;

    #[test]
    fn the_mlp_has_the_seed_shape() {
        // 6084 → 4 → 2 with biases (sklearn's binary output has one unit: 24,345).
        assert_eq!(
            TurtleHog.init::<Flex>(&FlexDevice).num_params(),
            HOG_LEN * 4 + 4 + 4 * 2 + 2
        );
    }

    #[test]
    fn features_are_standardised_per_column() {
        let mut x = vec![1.0, 5.0, 3.0, 5.0];
        standardize(&mut x, 2);
        assert_eq!(x, vec![-1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn synthetic_data_becomes_hog_rows() {
        let d = TurtleHog.synthetic(4, 1);
        assert_eq!(d.x.len(), 4 * HOG_LEN);
        assert_eq!(d.y.len(), 4);
    }
}
