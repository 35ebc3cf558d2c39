//! The WGSL peak kernels (GEMM, copy) on the default wgpu adapter, each at the largest size of
//! that adapter's plan, timed by the GPU's timestamps where it has them (criterion's
//! `iter_custom`). Throughput shows as FLOP/s (elements) and bytes/s. `cargo bench --bench kernels`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gpubench::peak::{Kernel, wgpu::Bench};

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("wgpu");
    for kernel in Kernel::ALL {
        let mut bench = match Bench::new(kernel, None) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("wgpu {}: not benchmarked: {e:#}", kernel.name());
                continue;
            }
        };
        let work = bench.job().work() as u64;
        group.throughput(match kernel {
            Kernel::Gemm => Throughput::Elements(work),
            Kernel::Copy => Throughput::Bytes(work),
        });
        let id = BenchmarkId::new(
            kernel.name(),
            format!(
                "{} {} {}",
                bench.job().label(),
                bench.adapter(),
                bench.timing()
            ),
        );
        group.bench_function(id, |b| {
            b.iter_custom(|iters| bench.time(iters).expect("kernel launch"))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = kernels
}
criterion_main!(benches);
