//! Reading a Kaggle-sized `training.csv` with `kaggle::load`; criterion prints MB/s. The file is
//! `$KEYPOINTS_CSV` when set (e.g. Kaggle's real one), else a 7049-row stand-in (≈ 233 MB, like
//! the real file) written by `synth::write`. `cargo bench --bench load_keypoints`;
//! `bench/loader_compare.sh` puts pandas beside it.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gpubench::workload::keypoints::kaggle;
use gpubench::workload::synth;

fn load(c: &mut Criterion) {
    // `cargo test --all-targets` runs each bench once, as a check: a small file will do there.
    let rows = if std::env::args().any(|a| a == "--bench") {
        7049
    } else {
        256
    };
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let path = std::env::var_os("KEYPOINTS_CSV").map_or_else(
        || {
            synth::write(tmp.path(), rows, 1, false)
                .expect("stand-in files")
                .keypoints
        },
        PathBuf::from,
    );
    let bytes = std::fs::metadata(&path).expect("training.csv").len();
    let mut g = c.benchmark_group("load_keypoints");
    g.throughput(Throughput::BytesDecimal(bytes))
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for (name, missing) in [
        ("mask", kaggle::Missing::Mask),
        ("drop", kaggle::Missing::Drop),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| kaggle::load(&path, missing).expect("load"))
        });
    }
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
