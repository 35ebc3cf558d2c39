//! The input pipeline: the seeded split, batches gathered (and augmented) on the host on a
//! thread of their own, and their upload to the device.

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::Scope;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::{PREFETCH, n_val};
use crate::workload::{Dataset, Workload};

/// Gathers the batches of `order` (and augments them, given an `rng`) on a thread of `scope`,
/// [`PREFETCH`] batches ahead of the training loop, like the seeds' input pipeline: the device
/// should never wait for the host.
pub(super) fn prefetch<'s, W: Workload>(
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

    /// Images in the batch.
    pub fn len(&self, w: &impl Workload) -> usize {
        self.y.len() / w.target_len()
    }

    /// Images `from..to` of the batch: one replica's shard.
    pub fn rows(&self, w: &impl Workload, from: usize, to: usize) -> HostBatch {
        let [c, h, wd] = w.input_shape();
        let (x, t) = (c * h * wd, w.target_len());
        Self {
            x: self.x[from * x..to * x].to_vec(),
            y: self.y[from * t..to * t].to_vec(),
            mask: self.mask[from * t..to * t].to_vec(),
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
pub(super) fn split(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut crate::workload::rng(seed, 999));
    let val = idx.split_off(n - n_val(n));
    (idx, val)
}
