//! The CNN workloads. Each lives in its own file behind [`Workload`]; registering one is a line
//! in the `registry!` call at the bottom.

mod keypoints;
mod synthetic;
mod turtle;

pub use keypoints::Keypoints;
pub(crate) use synthetic::rng;
pub use turtle::Turtle;

use anyhow::Result;
use burn::module::Module;
use burn::prelude::{Backend, Tensor};
use burn::tensor::backend::AutodiffBackend;

use crate::train::{Job, Outcome};

/// Where a run's images come from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// `n` generated images of the real shapes, deterministic by seed.
    Synthetic { n: usize },
}

impl DataSource {
    pub fn load<W: Workload>(&self, w: &W, seed: u64) -> Result<Dataset> {
        match self {
            DataSource::Synthetic { n } => Ok(w.synthetic(*n, seed)),
        }
    }
}

/// Images and targets held in host memory, laid out for direct upload in batches.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `n × C × H × W` pixels scaled to [0, 1].
    pub x: Vec<f32>,
    /// `n × target_len` targets (normalised coordinates, or a class index as f32).
    pub y: Vec<f32>,
    /// `n × target_len`: 1 where the target is present, 0 where it is missing.
    pub mask: Vec<f32>,
    /// What the data is: `synthetic`, or a real source.
    pub kind: &'static str,
}

impl Dataset {
    pub fn len(&self, target_len: usize) -> usize {
        self.y.len() / target_len
    }

    /// First 16 hex digits of the SHA-256 of the pixels, targets and mask, so two rows can be
    /// checked to have trained on the same bytes.
    pub fn sha256_prefix(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.x, &self.y, &self.mask] {
            for v in part.iter() {
                h.update(v.to_le_bytes());
            }
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The facts of a workload that rows need even when no run happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Info {
    pub name: &'static str,
    pub model: &'static str,
    pub metric_name: &'static str,
    pub flops_per_image: u64,
    pub largest_activation: u64,
}

impl Info {
    pub fn of<W: Workload>(w: &W) -> Self {
        Self {
            name: w.name(),
            model: w.model_name(),
            metric_name: w.metric_name(),
            flops_per_image: w.flops_per_image(),
            largest_activation: w.largest_activation(),
        }
    }
}

/// The [`Info`] of the workload called `name`.
pub fn info(name: &str) -> Option<Info> {
    struct GetInfo;
    impl WorkloadVisitor for GetInfo {
        type Output = Info;
        fn visit<W: Workload>(self, w: W) -> Info {
            Info::of(&w)
        }
    }
    visit(name, GetInfo)
}

/// Sums over a validation set, computed on the host from the model's outputs.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct EvalSums {
    pub loss_sum: f64,
    pub loss_count: f64,
    pub metric_sum: f64,
    pub metric_count: f64,
}

impl EvalSums {
    pub fn add(&mut self, o: EvalSums) {
        self.loss_sum += o.loss_sum;
        self.loss_count += o.loss_count;
        self.metric_sum += o.metric_sum;
        self.metric_count += o.metric_count;
    }
}

/// One CNN benchmark: its data shapes, model, loss and metric.
pub trait Workload: Copy + Send + Sync + 'static {
    type Model<B: Backend>: Module<B>;

    fn name(&self) -> &'static str;
    /// The `model` column: which architecture this is.
    fn model_name(&self) -> &'static str;
    /// Input image shape `[channels, height, width]`.
    fn input_shape(&self) -> [usize; 3];
    /// Values per target row.
    fn target_len(&self) -> usize;
    fn metric_name(&self) -> &'static str;
    /// Forward multiply-accumulates for one image, from the layer shapes.
    fn forward_macs(&self) -> u64;
    /// f32 values per image of the largest single tensor a training step makes (a layer output
    /// or an unfolded conv input): what must fit in one device buffer, times the batch size.
    fn largest_activation(&self) -> u64;

    fn init<B: Backend>(&self, device: &B::Device) -> Self::Model<B>;
    fn forward<B: Backend>(&self, model: &Self::Model<B>, x: Tensor<B, 4>) -> Tensor<B, 2>;
    /// Mean training loss of one batch.
    fn loss<B: Backend>(
        &self,
        out: Tensor<B, 2>,
        y: Tensor<B, 2>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 1>;
    /// Loss and metric sums of the model outputs `out` against `y`/`mask` (one row per image).
    fn eval(&self, out: &[f32], y: &[f32], mask: &[f32]) -> EvalSums;
    /// The reported metric from its sums (e.g. RMSE in pixels, accuracy).
    fn metric(&self, sums: &EvalSums) -> f64;
    /// A deterministic dataset of the real shapes with a signal the model can learn.
    fn synthetic(&self, n: usize, seed: u64) -> Dataset;
    /// Trains on backend `B`: `crate::train::train::<B, Self>(self, device, job)`. Each workload
    /// spells this out because only the concrete model type proves it is an autodiff module.
    fn run<B: AutodiffBackend>(self, device: &B::Device, job: &Job) -> Outcome;

    /// Training FLOPs per image: forward + backward ≈ 3 × forward, forward = 2 × MACs.
    /// Pooling, activations and the optimizer are left out (they are a few percent at most).
    fn flops_per_image(&self) -> u64 {
        6 * self.forward_macs()
    }
}

/// Something done with a workload whose type is known only at run time.
pub trait WorkloadVisitor {
    type Output;
    fn visit<W: Workload>(self, workload: W) -> Self::Output;
}

macro_rules! registry {
    ($($name:literal => $ty:expr),+ $(,)?) => {
        /// Workload names in the order runs use them.
        pub const NAMES: &[&str] = &[$($name),+];

        /// Calls `v` with the workload called `name`, or returns `None` for an unknown name.
        pub fn visit<V: WorkloadVisitor>(name: &str, v: V) -> Option<V::Output> {
            match name {
                $($name => Some(v.visit($ty)),)+
                _ => None,
            }
        }
    };
}

registry! {
    "keypoints" => Keypoints,
    "turtle" => Turtle,
}

/// MACs of a 'valid' convolution producing `out_c × out_h × out_w` from `in_c` channels.
pub(crate) const fn conv_macs(out_hw: [u64; 2], out_c: u64, kernel: [u64; 2], in_c: u64) -> u64 {
    out_hw[0] * out_hw[1] * out_c * kernel[0] * kernel[1] * in_c
}
