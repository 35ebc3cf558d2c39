//! The training loop, generic over burn backend and workload, split into timed phases; and
//! [`dispatch`], the one place that picks a burn backend type for a workload.

mod adam;
mod check;
pub mod dispatch;
mod eval;
mod init;
mod input;
pub mod interrupt;
mod phase;
mod progress;
mod replica;
mod spread;
mod steps;
mod trainer;

pub use init::initial;
pub use input::{HostBatch, batch};
pub use phase::{Phases, Stopwatch};
pub use progress::spinner;
pub use replica::step;
pub use spread::{Cluster, Spread, host_orchestrator, port_of};
pub use steps::train;

use std::path::PathBuf;

use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::optim::adaptor::OptimizerAdaptor;

use crate::ops::TrainBackend;
use crate::record::Status;
use crate::telemetry::{Sensors, Summary};
use crate::workload::{DataSource, Info, ModelKind, Target, Workload};

/// Adam's step size for both workloads (Keras' default, which the seeds used).
pub(crate) const LEARNING_RATE: f64 = 1e-3;
/// Share of the data held out for validation.
const VAL_FRACTION: f64 = 0.2;
/// Batches the input thread gathers ahead of the training loop.
pub(crate) const PREFETCH: usize = 2;
/// Validation images kept for the picture a workload draws after training.
pub(crate) const SAMPLE_IMAGES: usize = 16;

/// What one run trains: a workload on a data source with one batch size.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub workload: &'a str,
    pub model: ModelKind,
    pub data: &'a DataSource,
    /// Images per replica and step: the global batch is this times the replicas.
    pub batch_size: usize,
    /// The devices and nodes the job is spread over.
    pub spread: Spread,
    pub epochs: usize,
    pub seed: u64,
    /// Mirror a random half of each training batch (`--flip`).
    pub flip: bool,
    /// The validation metric to train to, and whether to stop there (`--stop-at-target`)
    /// rather than go on to `epochs`.
    pub target: Target,
    pub stop_at_target: bool,
    /// Where the workload may draw its validation picture (a path without extension).
    pub draw_to: Option<PathBuf>,
    /// Shown on the progress bar, e.g. `keypoints/cpu b32 #0`.
    pub label: String,
    /// Where the devices' power and energy are read, and whether every reading is kept
    /// (`--keep-samples`) rather than only their sums per phase.
    pub telemetry: Sensors,
    pub keep_samples: bool,
}

impl Job<'_> {
    /// Images per step over all replicas.
    pub fn global_batch(&self) -> usize {
        self.batch_size * self.spread.replicas()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    /// Training time of the epoch; the first includes the warm-up step. Evaluation is excluded.
    pub seconds: f64,
    pub train_loss: f64,
    pub val_metric: Option<f64>,
}

/// Everything a run measured. Fields stay `None` where the run never got to measure them.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub error: Option<String>,
    pub workload: &'static str,
    pub model: &'static str,
    pub params: Option<usize>,
    /// First 16 hex digits of the SHA-256 of the initial weights, equal on every backend.
    pub init_sha256: Option<String>,
    pub flops_per_image: u64,
    pub dataset: Option<&'static str>,
    pub dataset_sha256: Option<String>,
    /// Inputs the loader skipped (`--skip-bad`).
    pub skipped: Option<usize>,
    pub n_train: Option<usize>,
    pub n_val: Option<usize>,
    pub phases: Phases,
    pub total_s: Option<f64>,
    pub epochs: Vec<EpochStats>,
    /// Images trained on after the warm-up step, the numerator of images/s.
    pub steady_images: usize,
    /// Seconds of the steady training steps spent waiting for the next batch and uploading it.
    pub input_wait_s: Option<f64>,
    /// Seconds of the steady steps spent all-reducing gradients (a data-parallel run).
    pub comm_s: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_metric_name: &'static str,
    pub val_metric: Option<f64>,
    /// A classifier's class names and its last validation's confusion counts (true class by
    /// predicted class, row-major).
    pub classes: &'static [&'static str],
    pub confusion: Option<Vec<u64>>,
    /// The metric trained to, and the first epoch whose validation reached it.
    pub target: Option<f64>,
    pub epochs_to_target: Option<usize>,
    /// The picture drawn after training, if the workload draws one.
    pub artifact: Option<PathBuf>,
    /// Power, energy, clocks and temperature per phase; empty for a run that never started.
    pub telemetry: Summary,
}

impl Outcome {
    /// An outcome with nothing measured yet, for a run that could not start or that failed.
    pub fn empty(w: &Info, status: Status, error: Option<String>) -> Self {
        Self {
            status,
            error,
            workload: w.name,
            model: w.model,
            params: None,
            init_sha256: None,
            flops_per_image: w.flops_per_image,
            dataset: None,
            dataset_sha256: None,
            skipped: None,
            n_train: None,
            n_val: None,
            phases: Phases::default(),
            total_s: None,
            epochs: Vec::new(),
            steady_images: 0,
            input_wait_s: None,
            comm_s: None,
            val_loss: None,
            val_metric_name: w.metric_name,
            val_metric: None,
            classes: w.classes,
            confusion: None,
            target: None,
            epochs_to_target: None,
            artifact: None,
            telemetry: Summary::default(),
        }
    }
}

/// Number of training images for a dataset of `n`: what the batch size must not exceed.
pub fn n_train(n: usize) -> usize {
    n - n_val(n)
}

pub(crate) fn n_val(n: usize) -> usize {
    ((n as f64 * VAL_FRACTION).round() as usize).clamp(1, n.saturating_sub(1).max(1))
}

/// The optimizer both workloads train with (see [`adam`]).
pub fn optimizer<B: TrainBackend, W: Workload>() -> impl Optimizer<W::Model<B>, B>
where
    W::Model<B>: AutodiffModule<B>,
{
    OptimizerAdaptor::from(adam::Adam)
}
