//! The validation pass: predictions read back to the host, loss and metric summed there.

use anyhow::{Result, anyhow};

use super::input::HostBatch;
use super::{SAMPLE_IMAGES, batch};
use crate::ops::LayerOps;
use crate::workload::{Dataset, EvalSums, Sample, Workload};

/// Validation pass on the inference model. The last batch is padded to full size (shapes stay
/// fixed) and the padding is left out of the sums. Also returns the first images with their
/// predictions, for [`Workload::draw`], and a classifier's confusion counts (row-major, true
/// class by predicted class).
pub(super) fn evaluate<B: LayerOps, W: Workload>(
    w: &W,
    model: &W::Model<B>,
    data: &Dataset,
    val_idx: &[usize],
    b: usize,
    device: &B::Device,
) -> Result<(EvalSums, Sample, Option<Vec<u64>>)> {
    let t = w.target_len();
    let k = w.classes().len();
    let mut confusion = (k > 0).then(|| vec![0u64; k * k]);
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
        if let Some(counts) = &mut confusion {
            let rows = pred[..real * per_image].chunks_exact(per_image);
            for (out, y) in rows.zip(host.y.chunks_exact(t)) {
                if let Some((truth, predicted)) = w.classify(out, y)
                    && truth < k
                    && predicted < k
                {
                    counts[truth * k + predicted] += 1;
                }
            }
        }
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
    Ok((sums, sample, confusion))
}
