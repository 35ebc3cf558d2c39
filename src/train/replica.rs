//! One model replica on one device: it uploads its share of a batch, steps, and (in a
//! data-parallel run) all-reduces its gradients with the other replicas through burn's
//! collective before the optimizer uses them.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::collective::{PeerId, ReduceOperation};
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;

use super::LEARNING_RATE;
use super::adam::Adam;
use super::input::HostBatch;
use super::phase::read;
use crate::ops::TrainBackend;
use crate::workload::Workload;

/// What one step of one replica measured.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StepTimes {
    /// Handing the batch to the device.
    pub upload_s: f64,
    /// In the all-reduce, from the gradients being ready (synced) to the reduced ones being
    /// ready (synced); `None` without one.
    pub comm_s: Option<f64>,
}

pub(super) struct Replica<B: TrainBackend, W: Workload>
where
    W::Model<B>: AutodiffModule<B>,
{
    w: W,
    pub device: B::Device,
    model: Option<W::Model<B>>,
    optim: OptimizerAdaptor<Adam, W::Model<B>, B>,
    /// The collective peer this replica all-reduces as, in a data-parallel run.
    peer: Option<PeerId>,
    loss_sum: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B, W> Replica<B, W>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
{
    pub fn new(w: W, device: B::Device, model: W::Model<B>, peer: Option<PeerId>) -> Self {
        Self {
            w,
            device,
            model: Some(model),
            optim: OptimizerAdaptor::from(Adam),
            peer,
            loss_sum: None,
        }
    }

    /// One step on `host`, whose loss counts for `share` of the global batch's.
    pub fn step(&mut self, host: HostBatch, share: f32) -> Result<StepTimes> {
        let started = Instant::now();
        let (x, y, mask) = host.upload::<B>(&self.w, &self.device);
        let mut times = StepTimes {
            upload_s: started.elapsed().as_secs_f64(),
            comm_s: None,
        };
        let model = self
            .model
            .take()
            .expect("a replica keeps its model between steps");
        let (peer, device) = (self.peer, &self.device);
        let (model, loss) = step_with(&self.w, model, &mut self.optim, x, y, mask, share, |g| {
            let Some(peer) = peer else { return Ok(g) };
            sync::<B>(device)?;
            let started = Instant::now();
            // Shares already weight each replica's loss, so the sum is the whole batch's.
            let g = g
                .all_reduce::<B::InnerBackend>(peer, ReduceOperation::Sum)
                .map_err(|e| anyhow!("all-reduce of the gradients failed: {e:?}"))?;
            sync::<B>(device)?;
            times.comm_s = Some(started.elapsed().as_secs_f64());
            Ok(g)
        })?;
        self.model = Some(model);
        self.loss_sum = Some(match self.loss_sum.take() {
            Some(sum) => sum + loss,
            None => loss,
        });
        Ok(times)
    }

    /// The summed loss of the steps since the last call, read back (so the device is synced).
    pub fn take_loss(&mut self) -> Result<f64> {
        read::<B::InnerBackend, 1>(self.take_loss_tensor()?)
    }

    /// The same, left on the device.
    pub fn take_loss_tensor(&mut self) -> Result<Tensor<B::InnerBackend, 1>> {
        self.loss_sum
            .take()
            .ok_or_else(|| anyhow!("no step was taken"))
    }

    pub fn sync(&self) -> Result<()> {
        sync::<B>(&self.device)
    }

    pub fn model(&self) -> &W::Model<B> {
        self.model
            .as_ref()
            .expect("a replica keeps its model between steps")
    }
}

fn sync<B: Backend>(device: &B::Device) -> Result<()> {
    B::sync(device).map_err(|e| anyhow!("device sync failed: {e}"))
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
    step_with(w, model, optim, x, y, mask, 1.0, Ok).expect("no reduce, nothing to fail")
}

/// The model after a step, and the step's loss (detached).
type Stepped<B, W> = (
    <W as Workload>::Model<B>,
    Tensor<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend, 1>,
);

/// A step whose loss is weighted by `share` and whose gradients pass through `reduce` before
/// the optimizer uses them. A share of 1 leaves the loss untouched, so one device trains
/// exactly as before data parallelism existed.
#[allow(clippy::too_many_arguments)]
fn step_with<B, W, O>(
    w: &W,
    model: W::Model<B>,
    optim: &mut O,
    x: Tensor<B, 4>,
    y: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    share: f32,
    reduce: impl FnOnce(GradientsParams) -> Result<GradientsParams>,
) -> Result<Stepped<B, W>>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
    O: Optimizer<W::Model<B>, B>,
{
    let mut loss = w.loss(w.forward(&model, x), y, mask);
    if share != 1.0 {
        loss = loss * share;
    }
    let grads = reduce(GradientsParams::from_grads(loss.backward(), &model))?;
    Ok((optim.step(LEARNING_RATE, model, grads), loss.inner()))
}
