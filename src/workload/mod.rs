//! The CNN workloads. Each lives in its own folder behind [`Workload`], with its model, loss,
//! metric, its real-data reader, augmentation and pictures; registering one is a line in the
//! `registry!` call at the bottom. Workloads build their nets from [`crate::ops`] and know
//! nothing of the training loop or of backends.

mod canvas;
mod data;
pub mod synth;
mod synthetic;

pub use data::{Dataset, UNIT};
pub use keypoints::Keypoints;
pub use keypoints::kaggle::Missing;
pub(crate) use synthetic::rng;
pub use turtle::{Turtle, TurtleHog};

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::prelude::{Backend, Tensor};
use rand::rngs::StdRng;

use crate::error::input;
use crate::ops::{LayerOps, TrainBackend};

/// Where a run's images come from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// `n` generated images of the real shapes, deterministic by seed.
    Synthetic { n: usize },
    /// Files in the workload's real format (`--data-<workload>`), read by [`Workload::read`].
    Files { path: PathBuf, options: ReadOptions },
}

/// A real-data option of `run` that only some readers honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOption {
    /// `--missing`: what to do with rows that lack some targets.
    Missing,
    /// `--skip-bad`: skip undecodable images.
    SkipBad,
}

/// How readers treat what they find in real data files.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadOptions {
    /// Rows with missing keypoints (`--missing`).
    pub missing: Missing,
    /// Skip images that cannot be decoded instead of failing (`--skip-bad`).
    pub skip_bad: bool,
}

impl DataSource {
    /// Reads (or generates) the images the workload trains on.
    pub fn load<W: Workload>(&self, w: &W, seed: u64) -> Result<Dataset> {
        match self {
            DataSource::Synthetic { n } => Ok(w.synthetic(*n, seed)),
            DataSource::Files { path, options } => w.read(path, options, seed),
        }
    }
}

/// The command-line option that hands a workload its real data (`--data-<workload>`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataFlag {
    /// The option without dashes, e.g. `data-keypoints`.
    pub long: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
}

/// Which model a workload trains: its CNN, or the seed's HOG-feature MLP baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ModelKind {
    #[default]
    Cnn,
    MlpHog,
}

/// Validation images with the model's outputs, for pictures drawn after training.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub mask: Vec<f32>,
    pub pred: Vec<f32>,
    pub n: usize,
}

/// A quality to train to (`--target-rmse`, `--target-accuracy`): a validation metric value
/// and which side of it is better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub value: f64,
    pub higher_is_better: bool,
}

impl Target {
    pub fn reached(&self, metric: f64) -> bool {
        if self.higher_is_better {
            metric >= self.value
        } else {
            metric <= self.value
        }
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
    pub data_flag: Option<DataFlag>,
    pub read_options: &'static [ReadOption],
    pub flips: bool,
    pub classes: &'static [&'static str],
    pub higher_is_better: bool,
    /// The default target on synthetic data, and on real data.
    pub default_target: [f64; 2],
}

impl Info {
    /// `value`, or this workload's default for data that is synthetic or not, as a [`Target`].
    pub fn target(&self, value: Option<f64>, synthetic: bool) -> Target {
        Target {
            value: value.unwrap_or(self.default_target[usize::from(!synthetic)]),
            higher_is_better: self.higher_is_better,
        }
    }
}

impl Info {
    pub fn of<W: Workload>(w: &W) -> Self {
        Self {
            name: w.name(),
            model: w.model_name(),
            metric_name: w.metric_name(),
            flops_per_image: w.flops_per_image(),
            largest_activation: w.largest_activation(),
            data_flag: w.data_flag(),
            read_options: w.read_options(),
            flips: w.flips(),
            classes: w.classes(),
            higher_is_better: w.higher_is_better(),
            default_target: [w.default_target(true), w.default_target(false)],
        }
    }
}

/// The [`Info`] of the workload called `name` with `model`.
pub fn info(name: &str, model: ModelKind) -> Option<Info> {
    struct GetInfo;
    impl WorkloadVisitor for GetInfo {
        type Output = Info;
        fn visit<W: Workload>(self, w: W) -> Info {
            Info::of(&w)
        }
    }
    visit(name, model, GetInfo)
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
    /// Whether a larger metric is better (accuracy) or a smaller one (an error).
    fn higher_is_better(&self) -> bool {
        false
    }
    /// The metric a run trains to by default (`--target-*`), on `synthetic` data or real.
    fn default_target(&self, synthetic: bool) -> f64;
    /// Forward multiply-accumulates for one image, from the layer shapes.
    fn forward_macs(&self) -> u64;
    /// f32 values per image of the largest single tensor a training step makes (a layer output
    /// or an unfolded conv input): what must fit in one device buffer, times the batch size.
    fn largest_activation(&self) -> u64;

    fn init<B: Backend>(&self, device: &B::Device) -> Self::Model<B>;
    fn forward<B: LayerOps>(&self, model: &Self::Model<B>, x: Tensor<B, 4>) -> Tensor<B, 2>;
    /// Mean training loss of one batch.
    fn loss<B: Backend>(
        &self,
        out: Tensor<B, 2>,
        y: Tensor<B, 2>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 1>;
    /// What a batch's loss averages over, counted from its host targets: images, unless the
    /// loss is masked. Data-parallel replicas weight their losses by their share of it.
    fn loss_count(&self, y: &[f32], _mask: &[f32]) -> f64 {
        (y.len() / self.target_len()) as f64
    }
    /// Loss and metric sums of the model outputs `out` against `y`/`mask` (one row per image).
    fn eval(&self, out: &[f32], y: &[f32], mask: &[f32]) -> EvalSums;
    /// The reported metric from its sums (e.g. RMSE in pixels, accuracy).
    fn metric(&self, sums: &EvalSums) -> f64;
    /// A classifier's class names, indexed by label, for its confusion counts; empty for a
    /// workload that does not classify.
    fn classes(&self) -> &'static [&'static str] {
        &[]
    }
    /// The (true, predicted) class of one validation image from its outputs and target row;
    /// `None` for a workload without [`Workload::classes`].
    fn classify(&self, _out: &[f32], _y: &[f32]) -> Option<(usize, usize)> {
        None
    }
    /// A deterministic dataset of the real shapes with a signal the model can learn.
    fn synthetic(&self, n: usize, seed: u64) -> Dataset;
    /// The option that names this workload's real data; `None` for a workload without a reader.
    fn data_flag(&self) -> Option<DataFlag> {
        None
    }
    /// Reads real data from `path` (what [`Workload::data_flag`] was given) into this model's
    /// inputs; bad input is an exit-code-2 error naming the file and line or image.
    fn read(&self, path: &Path, _options: &ReadOptions, _seed: u64) -> Result<Dataset> {
        input(format!(
            "{}: {} reads no data files",
            path.display(),
            self.name()
        ))
    }
    /// The options of [`ReadOptions`] that [`Workload::read`] honours.
    fn read_options(&self) -> &'static [ReadOption] {
        &[]
    }
    /// Whether [`Workload::augment`] mirrors images when the run asks for it (`--flip`).
    fn flips(&self) -> bool {
        false
    }
    /// Augments one training batch on the host when the run asks for it (`--flip`); the
    /// default leaves it as is.
    fn augment(&self, _x: &mut [f32], _y: &mut [f32], _mask: &mut [f32], _rng: &mut StdRng) {}
    /// Writes a picture of validation predictions to `path` (without extension) and returns the
    /// file written; workloads without one write nothing.
    fn draw(&self, _path: &Path, _sample: &Sample) -> Result<Option<PathBuf>> {
        Ok(None)
    }
    /// Hands this workload to `f` on the autodiff backend `B`: `f.run(self)`. Each workload
    /// spells this out because only its concrete model type proves it is an autodiff module.
    fn on<B: TrainBackend, F: OnBackend<B>>(self, f: F) -> F::Output;

    /// Training FLOPs per image: forward + backward ≈ 3 × forward, forward = 2 × MACs.
    /// Pooling, activations and the optimizer are left out (they are a few percent at most).
    fn flops_per_image(&self) -> u64 {
        6 * self.forward_macs()
    }
}

/// Something done with a workload on an autodiff backend `B` that needs the model to be an
/// autodiff module whose inference form is the same model on the inner backend (training).
pub trait OnBackend<B: TrainBackend> {
    type Output;
    fn run<W: Workload>(self, workload: W) -> Self::Output
    where
        W::Model<B>: AutodiffModule<B, InnerModule = W::Model<B::InnerBackend>>;
}

/// Something done with a workload whose type is known only at run time.
pub trait WorkloadVisitor {
    type Output;
    fn visit<W: Workload>(self, workload: W) -> Self::Output;
}

/// `module { "name" Model => Type, ... }` declares the workload's module (its folder or file
/// here) and registers each (workload, model) pair it defines.
macro_rules! registry {
    ($($module:ident { $($name:literal $model:ident => $ty:ident),+ $(,)? }),+ $(,)?) => {
        $(pub mod $module;)+

        /// Every (workload, model) pair, in the order runs use them.
        pub const ALL: &[(&str, ModelKind)] = &[$($(($name, ModelKind::$model)),+),+];

        /// Calls `v` with the workload `name` training `model`, or returns `None` when there is
        /// no such pair.
        pub fn visit<V: WorkloadVisitor>(name: &str, model: ModelKind, v: V) -> Option<V::Output> {
            match (name, model) {
                $($(($name, ModelKind::$model) => Some(v.visit($module::$ty)),)+)+
                _ => None,
            }
        }
    };
}

registry! {
    keypoints { "keypoints" Cnn => Keypoints },
    turtle { "turtle" Cnn => Turtle, "turtle" MlpHog => TurtleHog },
}

/// Workload names, each once, in the order runs use them.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
    names.dedup();
    names
}

/// The [`Info`] of every registered (workload, model) pair.
pub fn all_info() -> Vec<Info> {
    ALL.iter()
        .filter_map(|(name, model)| info(name, *model))
        .collect()
}

/// The workloads that have `model`.
pub fn with_model(model: ModelKind) -> Vec<&'static str> {
    ALL.iter()
        .filter(|(_, m)| *m == model)
        .map(|(n, _)| *n)
        .collect()
}

/// MACs of a 'valid' convolution producing `out_c × out_h × out_w` from `in_c` channels.
pub(crate) const fn conv_macs(out_hw: [u64; 2], out_c: u64, kernel: [u64; 2], in_c: u64) -> u64 {
    out_hw[0] * out_hw[1] * out_c * kernel[0] * kernel[1] * in_c
}
