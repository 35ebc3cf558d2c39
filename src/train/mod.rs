//! The training loop, generic over burn backend and workload, split into timed phases.

mod adam;
mod phase;

pub use phase::{Phases, Stopwatch};

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::Scope;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::backend::{LayerOps, TrainBackend};
use crate::record::Status;
use crate::workload::{DataSource, Dataset, EvalSums, Info, ModelKind, Sample, Workload};

/// Adam's step size for both workloads (Keras' default, which the seeds used).
const LEARNING_RATE: f64 = 1e-3;
/// Share of the data held out for validation.
const VAL_FRACTION: f64 = 0.2;
/// Batches the input thread gathers ahead of the training loop.
const PREFETCH: usize = 2;
/// Validation images kept for the picture a workload draws after training.
const SAMPLE_IMAGES: usize = 16;

/// What one run trains: a workload on a data source with one batch size.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub workload: &'a str,
    pub model: ModelKind,
    pub data: &'a DataSource,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Mirror a random half of each training batch (`--flip`).
    pub flip: bool,
    /// Where the workload may draw its validation picture (a path without extension).
    pub draw_to: Option<PathBuf>,
    /// Shown on the progress bar, e.g. `keypoints/cpu b32 #0`.
    pub label: String,
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
    pub val_loss: Option<f64>,
    pub val_metric_name: &'static str,
    pub val_metric: Option<f64>,
    /// The picture drawn after training, if the workload draws one.
    pub artifact: Option<PathBuf>,
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
            val_loss: None,
            val_metric_name: w.metric_name,
            val_metric: None,
            artifact: None,
        }
    }
}

/// Number of training images for a dataset of `n`: what the batch size must not exceed.
pub fn n_train(n: usize) -> usize {
    n - n_val(n)
}

fn n_val(n: usize) -> usize {
    ((n as f64 * VAL_FRACTION).round() as usize).clamp(1, n.saturating_sub(1).max(1))
}

/// The optimizer both workloads train with (see [`adam`]).
pub fn optimizer<B: TrainBackend, W: Workload>() -> impl Optimizer<W::Model<B>, B>
where
    W::Model<B>: AutodiffModule<B>,
{
    OptimizerAdaptor::from(adam::Adam)
}

/// Trains `w` on `device` for `job`, timing each phase. Errors during the run become
/// `status=failed` with whatever was measured before them.
pub fn train<B, W>(w: W, device: &B::Device, job: &Job) -> Outcome
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B, InnerModule = W::Model<B::InnerBackend>>,
{
    let mut out = Outcome::empty(&Info::of(&w), Status::Ok, None);
    let mut sw = Stopwatch::<B>::start(device);
    if let Err(e) = run_phases(w, device, job, &mut out, &mut sw) {
        out.status = Status::Failed;
        out.error = Some(format!("{e:#}"));
    }
    out.total_s = Some(sw.total());
    out
}

fn run_phases<B, W>(
    w: W,
    device: &B::Device,
    job: &Job,
    out: &mut Outcome,
    sw: &mut Stopwatch<B>,
) -> Result<()>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B, InnerModule = W::Model<B::InnerBackend>>,
{
    // Device init: the backend starts lazily, so make it run (and read back) one tiny op.
    read::<B, 1>(Tensor::<B, 1>::ones([2], device).sum())?;
    out.phases.device_init_s = Some(sw.lap()?);

    let data = job.data.load(&w, job.seed)?;
    let n = data.len(w.target_len());
    let (train_idx, val_idx) = split(n, job.seed);
    if train_idx.len() < job.batch_size {
        anyhow::bail!(
            "{} training images, fewer than one batch of {}",
            train_idx.len(),
            job.batch_size
        );
    }
    out.dataset = Some(data.kind);
    out.dataset_sha256 = Some(data.sha256_prefix());
    out.skipped = Some(data.skipped);
    out.n_train = Some(train_idx.len());
    out.n_val = Some(val_idx.len());
    out.phases.data_load_s = Some(sw.lap()?);

    B::seed(device, job.seed);
    let mut model = w.init::<B>(device);
    model.visit(&mut Materialize); // burn initialises parameters lazily; do it inside this phase
    let mut optim = optimizer::<B, W>();
    out.params = Some(model.num_params());
    out.phases.model_init_s = Some(sw.lap()?);

    let b = job.batch_size;
    let steps = train_idx.len() / b; // the last partial batch is dropped: shapes never change
    let bar = progress(job, steps);
    let (mut train_s, mut eval_s) = (0.0, 0.0);
    for epoch in 1..=job.epochs {
        let mut order = train_idx.clone();
        let mut rng = crate::workload::rng(job.seed, 1000 + epoch as u64);
        order.shuffle(&mut rng);
        let mut epoch_s = 0.0;
        let mut loss_sum: Option<Tensor<B::InnerBackend, 1>> = None;
        model = std::thread::scope(|scope| -> Result<_> {
            let mut model = model;
            let batches = prefetch(
                scope,
                w,
                &data,
                &order[..steps * b],
                b,
                job.flip.then_some(rng),
            );
            loop {
                // Waiting for the next batch and handing it over is the harness's own cost.
                let asked = Instant::now();
                let Ok(host) = batches.recv() else { break };
                let (x, y, mask) = host.upload::<B>(&w, device);
                let input_s = asked.elapsed().as_secs_f64();
                let loss;
                (model, loss) = step(&w, model, &mut optim, x, y, mask);
                loss_sum = Some(match loss_sum.take() {
                    Some(sum) => sum + loss,
                    None => loss,
                });
                if out.phases.warmup_s.is_none() {
                    let s = sw.lap()?;
                    out.phases.warmup_s = Some(s);
                    epoch_s += s;
                    bar.set_message(format!("{} training", job.label));
                } else {
                    *out.input_wait_s.get_or_insert(0.0) += input_s;
                }
                bar.inc(1);
            }
            Ok(model)
        })?;
        let train_loss =
            read::<B::InnerBackend, 1>(loss_sum.expect("at least one step"))? / steps as f64;
        let s = sw.lap()?;
        epoch_s += s;
        train_s += s;
        out.phases.train_s = Some(train_s);
        out.steady_images = (epoch * steps - 1) * b;
        if !train_loss.is_finite() {
            out.status = Status::Diverged;
            out.error = Some(format!(
                "training loss became {train_loss} in epoch {epoch}"
            ));
            out.epochs.push(EpochStats {
                epoch,
                seconds: epoch_s,
                train_loss,
                val_metric: None,
            });
            bar.finish_and_clear();
            return Ok(());
        }

        let (sums, sample) =
            evaluate::<B::InnerBackend, W>(&w, &model.valid(), &data, &val_idx, b, device)?;
        eval_s += sw.lap()?;
        if epoch == job.epochs
            && let Some(path) = &job.draw_to
        {
            // Drawn after the eval lap: a picture is not part of any timed phase.
            out.artifact = w.draw(path, &sample)?;
            sw.lap()?;
        }
        out.phases.eval_s = Some(eval_s);
        out.val_loss = Some(sums.loss_sum / sums.loss_count);
        out.val_metric = Some(w.metric(&sums));
        out.epochs.push(EpochStats {
            epoch,
            seconds: epoch_s,
            train_loss,
            val_metric: out.val_metric,
        });
        bar.set_message(format!("{} epoch {epoch}: loss {train_loss:.4}", job.label));
    }
    bar.finish_and_clear();
    Ok(())
}

/// One optimizer step on one batch; returns the updated model and the batch loss (detached).
pub fn step<B, W, O>(
    w: &W,
    model: W::Model<B>,
    optim: &mut O,
    x: Tensor<B, 4>,
    y: Tensor<B, 2>,
    mask: Tensor<B, 2>,
) -> (W::Model<B>, Tensor<B::InnerBackend, 1>)
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
    O: Optimizer<W::Model<B>, B>,
{
    let loss = w.loss(w.forward(&model, x), y, mask);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(LEARNING_RATE, model, grads), loss.inner())
}

/// Validation pass on the inference model. The last batch is padded to full size (shapes stay
/// fixed) and the padding is left out of the sums. Also returns the first images with their
/// predictions, for [`Workload::draw`].
fn evaluate<B: LayerOps, W: Workload>(
    w: &W,
    model: &W::Model<B>,
    data: &Dataset,
    val_idx: &[usize],
    b: usize,
    device: &B::Device,
) -> Result<(EvalSums, Sample)> {
    let t = w.target_len();
    let mut sums = EvalSums::default();
    let mut sample = Sample::default();
    for chunk in val_idx.chunks(b) {
        let padded: Vec<usize> = chunk.iter().copied().cycle().take(b).collect();
        let (x, _, _) = batch::<B, W>(w, data, &padded, device);
        let pred = w.forward(model, x).into_data_async();
        let pred = pollster::block_on(pred).map_err(|e| anyhow!("reading predictions: {e}"))?;
        let pred = pred
            .to_vec::<f32>()
            .map_err(|e| anyhow!("reading predictions: {e:?}"))?;
        let per_image = pred.len() / b;
        let real = chunk.len();
        let host = HostBatch::gather(w, data, chunk);
        sums.add(w.eval(&pred[..real * per_image], &host.y, &host.mask));
        if sample.n == 0 {
            let n = real.min(SAMPLE_IMAGES);
            let [c, h, wd] = w.input_shape();
            sample = Sample {
                x: host.x[..n * c * h * wd].to_vec(),
                y: host.y[..n * t].to_vec(),
                mask: host.mask[..n * t].to_vec(),
                pred: pred[..n * per_image].to_vec(),
                n,
            };
        }
    }
    Ok((sums, sample))
}

/// Gathers the batches of `order` (and augments them, given an `rng`) on a thread of `scope`,
/// [`PREFETCH`] batches ahead of the training loop, like the seeds' input pipeline: the device
/// should never wait for the host.
fn prefetch<'s, W: Workload>(
    scope: &'s Scope<'s, '_>,
    w: W,
    data: &'s Dataset,
    order: &'s [usize],
    b: usize,
    mut rng: Option<StdRng>,
) -> Receiver<HostBatch> {
    let (tx, rx) = sync_channel(PREFETCH);
    scope.spawn(move || {
        for idx in order.chunks_exact(b) {
            let mut host = HostBatch::gather(&w, data, idx);
            if let Some(rng) = &mut rng {
                w.augment(&mut host.x, &mut host.y, &mut host.mask, rng);
            }
            if tx.send(host).is_err() {
                break; // the training loop stopped early
            }
        }
    });
    rx
}

/// The images, targets and mask of one batch, gathered on the host.
pub struct HostBatch {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub mask: Vec<f32>,
}

impl HostBatch {
    pub fn gather<W: Workload>(w: &W, data: &Dataset, idx: &[usize]) -> Self {
        let [c, h, wd] = w.input_shape();
        let t = w.target_len();
        Self {
            x: gather(&data.x, c * h * wd, idx),
            y: gather(&data.y, t, idx),
            mask: gather(&data.mask, t, idx),
        }
    }

    /// One host→device copy each for images, targets and mask.
    pub fn upload<B: Backend>(
        self,
        w: &impl Workload,
        device: &B::Device,
    ) -> (Tensor<B, 4>, Tensor<B, 2>, Tensor<B, 2>) {
        let [c, h, wd] = w.input_shape();
        let t = w.target_len();
        let b = self.y.len() / t;
        (
            Tensor::from_data(TensorData::new(self.x, [b, c, h, wd]), device),
            Tensor::from_data(TensorData::new(self.y, [b, t]), device),
            Tensor::from_data(TensorData::new(self.mask, [b, t]), device),
        )
    }
}

/// One batch uploaded to the device.
pub fn batch<B: Backend, W: Workload>(
    w: &W,
    data: &Dataset,
    idx: &[usize],
    device: &B::Device,
) -> (Tensor<B, 4>, Tensor<B, 2>, Tensor<B, 2>) {
    HostBatch::gather(w, data, idx).upload::<B>(w, device)
}

fn gather(src: &[f32], row: usize, idx: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(row * idx.len());
    for &i in idx {
        out.extend_from_slice(&src[i * row..(i + 1) * row]);
    }
    out
}

/// A seeded split: shuffled indices, the last `VAL_FRACTION` held out.
fn split(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut crate::workload::rng(seed, 999));
    let val = idx.split_off(n - n_val(n));
    (idx, val)
}

/// Reads a one-element tensor back to the host (this waits for the device).
fn read<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<f64> {
    let data = t
        .try_into_data()
        .map_err(|e| anyhow!("reading a value from the device: {e}"))?;
    let v = data
        .to_vec::<f32>()
        .map_err(|e| anyhow!("reading a value from the device: {e:?}"))?;
    Ok(f64::from(v[0]))
}

fn progress(job: &Job, steps: usize) -> ProgressBar {
    let bar = ProgressBar::new((steps * job.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} steps, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} warm-up (compiling kernels)", job.label));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Touches every float parameter so lazily initialised weights exist before timing moves on.
struct Materialize;

impl<B: Backend> ModuleVisitor<B> for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}
