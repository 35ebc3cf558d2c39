//! Device init proves that the device computes: a small dense layer through the backend's own
//! kernel, read back and compared with its known value. A kernel that silently did not run
//! (cubecl logs a failed compilation inside its device thread and carries on, and the sync
//! still succeeds) must fail the run with a reason, not let it end `ok` on meaningless numbers.

use anyhow::{Result, ensure};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

use super::phase::read;
use crate::ops::LayerOps;

/// `[[1, 2], [3, 4]] · [[5], [6]] + 0.5` is `[[17.5], [39.5]]`: exact in f32, summed to 57.
const KNOWN: f64 = 57.0;

/// Runs the known product on `device` and fails unless it reads back exactly [`KNOWN`].
pub(super) fn known_product<B: LayerOps>(device: &B::Device) -> Result<()> {
    let raw = |t: Tensor<B, 2>| t.into_primitive().tensor();
    let x = Tensor::<B, 2>::from_floats([[1.0, 2.0], [3.0, 4.0]], device);
    let w = Tensor::<B, 2>::from_floats([[5.0], [6.0]], device);
    let b = Tensor::<B, 1>::from_floats([0.5], device)
        .into_primitive()
        .tensor();
    let y = B::dense(raw(x), raw(w), b);
    let got = read(Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(y)).sum())?;
    ensure!(
        got == KNOWN,
        "device check: a dense layer whose result sums to {KNOWN} came back as {got}: the \
         backend's kernels did not run as written (skipped or miscompiled; its own log above \
         may say why)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
    use burn::backend::flex::FlexDevice;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::ops::{FloatTensor, FloatTensorOps, ModuleOps};

    use super::*;
    use crate::record::Status;
    use crate::train::{Job, train};
    use crate::workload::{DataSource, Keypoints, ModelKind};

    /// A backend whose dense kernel "ran" without writing its output, as a kernel skipped by a
    /// failed compilation leaves it: the device buffer reads back as zeros.
    type Skipping = Autodiff<Flex, BalancedCheckpointing>;

    impl LayerOps for Skipping {
        fn dense(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let y = Self::linear(x, weight, Some(bias));
            Self::float_mul_scalar(y, 0.0.into())
        }
    }

    #[test]
    fn a_computing_device_passes() {
        known_product::<Flex>(&FlexDevice).unwrap();
        known_product::<Autodiff<Flex>>(&FlexDevice).unwrap();
    }

    #[test]
    fn skipped_kernels_fail_the_run_with_the_reason_never_ok() {
        let data = DataSource::Synthetic { n: 20 };
        let job = Job {
            workload: "keypoints",
            model: ModelKind::Cnn,
            data: &data,
            batch_size: 4,
            spread: Default::default(),
            epochs: 1,
            seed: 1,
            flip: false,
            target: crate::workload::Target {
                value: 1.0,
                higher_is_better: false,
            },
            stop_at_target: false,
            draw_to: None,
            label: "skipping".into(),
            telemetry: crate::telemetry::Sensors::Nothing("a test".into()),
            keep_samples: false,
        };
        let out = train::<Skipping, Keypoints>(Keypoints, &[FlexDevice], &job);
        assert_eq!(out.status, Status::Failed);
        let error = out.error.unwrap();
        assert!(error.contains("came back as 0"), "{error}");
        // Nothing after the failed check was measured, so nothing is reported.
        assert_eq!((out.phases.device_init_s, out.params), (None, None));
    }
}
