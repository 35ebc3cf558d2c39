//! One training step (batch 32: upload, forward, backward, Adam update, device sync) of each
//! workload on the cpu backend. `cargo bench --bench train_step`.

use std::time::Duration;

use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::Backend;
use criterion::{Criterion, criterion_group, criterion_main};
use gpubench::train::{batch, optimizer, step};
use gpubench::workload::{Keypoints, Turtle, Workload};

type Cpu = Autodiff<Flex>;
const BATCH: usize = 32;

fn bench_step<W: Workload>(c: &mut Criterion, w: W)
where
    W::Model<Cpu>: AutodiffModule<Cpu>,
{
    gpubench::backend::keep_freed_memory();
    let device = FlexDevice;
    let data = w.synthetic(2 * BATCH, 1);
    let idx: Vec<usize> = (0..BATCH).collect();
    let mut model = Some(w.init::<Cpu>(&device));
    let mut optim = optimizer::<Cpu, W>();
    c.bench_function(&format!("{}/cpu/train_step_b{BATCH}", w.name()), |b| {
        b.iter(|| {
            let (x, y, mask) = batch::<Cpu, W>(&w, &data, &idx, &device);
            let (next, _loss) = step(&w, model.take().expect("model"), &mut optim, x, y, mask);
            model = Some(next);
            Cpu::sync(&device).expect("sync");
        })
    });
}

fn steps(c: &mut Criterion) {
    bench_step(c, Keypoints);
    bench_step(c, Turtle);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(15));
    targets = steps
}
criterion_main!(benches);
