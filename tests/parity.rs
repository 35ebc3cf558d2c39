//! Same start, same training: a few seeded keypoints steps from the same initial weights on the
//! cpu backend with gpubench's own kernels, on cpu with burn's plain Flex ops, and on wgpu
//! (lavapipe without a GPU) give the same per-step losses within [`TOLERANCE`]; a deliberately
//! perturbed own kernel does not. One test, because the cpu kernel choice is per process.

use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use gpubench::backend::{self, BackendVisitor, CpuOps, TrainOn, perturb_own_conv, set_cpu_ops};
use gpubench::ops::TrainBackend;
use gpubench::train::{batch, initial, optimizer, step};
use gpubench::workload::{Keypoints, Workload};

const SEED: u64 = 42;
const STEPS: usize = 6;
const BATCH: usize = 8;
/// Largest relative difference of a step's loss from the reference's that still agrees. On this
/// job wgpu on lavapipe measured 6e-5 and the own kernels 2e-7, a 1 % error in the own conv 6e-2.
/// Keypoints, not turtle: a regression loss moves with every output, while the turtle net's
/// cross-entropy near ln 2 hid a 5 % conv error below wgpu's own drift.
const TOLERANCE: f64 = 1e-3;

/// The loss of each of [`STEPS`] steps on `B`, from the weights `--seed 42` draws.
fn losses<B: TrainBackend>(device: &B::Device) -> Vec<f64> {
    let w = Keypoints;
    let data = w.synthetic(STEPS * BATCH, SEED);
    let (mut model, _) = initial::<B, Keypoints>(&w, device, SEED);
    let mut optim = optimizer::<B, Keypoints>();
    let mut out = Vec::new();
    for s in 0..STEPS {
        let idx: Vec<usize> = (s * BATCH..(s + 1) * BATCH).collect();
        let (x, y, mask) = batch::<B, Keypoints>(&w, &data, &idx, device);
        let loss;
        (model, loss) = step(&w, model, &mut optim, x, y, mask);
        out.push(loss.into_scalar().elem::<f64>());
    }
    out
}

struct Losses;

impl BackendVisitor for Losses {
    type Output = Result<Vec<f64>, String>;
    fn visit<T: TrainOn>(self, b: &T) -> Self::Output {
        b.probe()?;
        b.before_training();
        Ok(losses::<T::Burn>(&b.device(0)))
    }
}

/// The largest relative difference between `got` and `reference`, step by step.
fn deviation(got: &[f64], reference: &[f64]) -> f64 {
    got.iter()
        .zip(reference)
        .map(|(g, r)| ((g - r) / r).abs())
        .fold(0.0, f64::max)
}

#[test]
fn backends_train_the_same_from_the_same_start_and_a_perturbed_kernel_is_caught() {
    let cpu = || losses::<Autodiff<Flex>>(&FlexDevice);
    let own = cpu();
    set_cpu_ops(CpuOps::Burn);
    let plain = cpu();
    set_cpu_ops(CpuOps::Gpubench);
    let wgpu = backend::visit("wgpu", Losses)
        .expect("wgpu is registered")
        .unwrap_or_else(|why| {
            panic!("wgpu cannot run here ({why}): scripts/test.sh installs lavapipe")
        });
    // GPUBENCH_PERTURB=0.01 cargo test --release --test parity shows this test failing.
    let perturb: f32 = std::env::var("GPUBENCH_PERTURB").map_or(0.0, |v| v.parse().unwrap());
    perturb_own_conv(perturb);
    let own = if perturb == 0.0 { own } else { cpu() };
    perturb_own_conv(0.0);
    eprintln!("own kernels {own:?}\nburn's ops  {plain:?}\nwgpu        {wgpu:?}");
    for (name, got) in [("own kernels", &own), ("wgpu", &wgpu)] {
        let dev = deviation(got, &plain);
        eprintln!("{name}: largest relative difference from burn's ops {dev:.2e}");
        assert!(dev <= TOLERANCE, "{name} leaves burn's ops by {dev:.2e}");
    }
    assert!(
        own.iter().all(|l| l.is_finite()) && own[STEPS - 1] < own[0],
        "{own:?}"
    );

    perturb_own_conv(0.01);
    let perturbed = cpu();
    perturb_own_conv(0.0);
    let dev = deviation(&perturbed, &plain);
    eprintln!("own kernels, conv output × 1.01: {dev:.2e}");
    assert!(
        dev > TOLERANCE,
        "a 1 % error in the conv kernel went unseen: {dev:.2e}"
    );
}

/// The weight gradient of a lone convolution of the turtle net's first layer's shapes (8 × 3 ×
/// 198 × 198 through 30 filters of 3 × 3) on the backend `T` trains on.
struct ConvWeightGrad;

impl BackendVisitor for ConvWeightGrad {
    type Output = Result<Vec<f32>, String>;
    fn visit<T: TrainOn>(self, b: &T) -> Self::Output {
        b.probe()?;
        Ok(conv_weight_grad::<T::Burn>(&b.device(0)))
    }
}

fn conv_weight_grad<B: TrainBackend>(device: &B::Device) -> Vec<f32> {
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    let values = |n: usize, k: usize| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * k) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    };
    let x = TensorData::new(values(8 * 3 * 198 * 198, 7), [8, 3, 198, 198]);
    let w = TensorData::new(values(30 * 3 * 9, 13), [30, 3, 3, 3]);
    let x = Tensor::<B, 4>::from_data(x, device);
    let w = Tensor::<B, 4>::from_data(w, device).require_grad();
    let y = conv2d(
        x,
        w.clone(),
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    );
    let g = TensorData::new(values(8 * 30 * 196 * 196, 17), [8, 30, 196, 196]);
    let grads = (y * Tensor::from_data(g, device)).sum().backward();
    w.grad(&grads).unwrap().into_data().to_vec().unwrap()
}

/// What the turtle net's `loss_rel_dev` on wgpu (0.17 over 3 epochs) comes from: on Mesa 22.3.6
/// lavapipe with burn 0.21 this weight gradient is off by more than its own size (relative error
/// 1.26) against the cpu's, on which gpubench's kernels and burn's Flex ops agree to 1e-7.
/// Ignored so CI stays green until burn or Mesa changes; `cargo test --release --test parity --
/// --ignored` (on a GPU too) shows where it stands.
#[test]
#[ignore = "fails on lavapipe with burn 0.21: see the README's Same start section"]
fn wgpu_computes_the_first_turtle_convolutions_weight_gradient_as_cpu_does() {
    let cpu = conv_weight_grad::<Autodiff<Flex>>(&FlexDevice);
    let wgpu = backend::visit("wgpu", ConvWeightGrad).unwrap().unwrap();
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let err = norm(&mut cpu.iter().zip(&wgpu).map(|(a, b)| f64::from(a - b)));
    let rel = err / norm(&mut cpu.iter().map(|&a| f64::from(a)));
    eprintln!("conv weight gradient, wgpu against cpu: relative error {rel:.2e}");
    assert!(rel < 1e-4, "relative error {rel:.2e}");
}
