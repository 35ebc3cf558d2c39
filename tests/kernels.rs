//! The peak microbenchmarks: both WGSL kernels on a wgpu adapter (lavapipe without a GPU)
//! against the CPU reference, every CUDA kernel compiled by NVRTC (PTX and CUBIN) for every
//! compute capability of the GPU catalog (and assembled by `ptxas -v` where it is on PATH),
//! and the CUDA launch path where there is a driver.

use std::collections::BTreeMap;
use std::process::Command;

use gpubench::peak::{Devices, Kernel, Plan, ProbeStatus, Row, cuda, wgpu};

/// Small sizes that still cover several tiles, a partial last workgroup of the copy
/// (65537 vec4s) and the warm-up/repeat path.
fn small_plan() -> Plan {
    Plan {
        gemm_n: vec![128, 384],
        copy_bytes: vec![(1 << 20) + 16],
        warmup: 1,
        repeats: 2,
    }
}

fn assert_all_ok(rows: &[Row]) {
    for r in rows {
        println!(
            "{} {} {} {}: {:?} {:?} {} ({}), max rel err {:?} {}",
            r.api,
            r.device,
            r.kernel,
            r.size,
            r.status,
            r.value,
            r.unit,
            r.timing,
            r.max_rel_error,
            r.reason
        );
    }
    for kernel in Kernel::ALL {
        assert!(
            rows.iter().any(|r| r.kernel == kernel.name()),
            "no {} row",
            kernel.name()
        );
    }
    for r in rows {
        assert_eq!(
            r.status,
            ProbeStatus::Ok,
            "{} {} {} {}: {}",
            r.api,
            r.device,
            r.kernel,
            r.size,
            r.reason
        );
        assert!(r.value.is_some_and(|v| v > 0.0), "{r:?}");
        assert!(r.max_rel_error.is_some_and(|e| e.is_finite()), "{r:?}");
    }
}

#[test]
fn wgsl_kernels_match_the_cpu_reference() {
    let rows = wgpu::measure(Devices::All, Some(&small_plan()));
    if let Some(r) = rows.iter().find(|r| r.status == ProbeStatus::Unavailable) {
        panic!(
            "no usable wgpu adapter ({}); without a GPU, scripts/test.sh installs Mesa's \
             software Vulkan (mesa-vulkan-drivers libvulkan1)",
            r.reason
        );
    }
    assert_all_ok(&rows);
}

#[test]
fn wgpu_bench_handle_times_a_checked_kernel() {
    let mut bench = wgpu::Bench::new(Kernel::Copy, Some(1 << 20)).expect("default adapter");
    assert_eq!(bench.job().label(), "1MiB");
    assert!(
        bench.time(3).expect("timing") > std::time::Duration::ZERO,
        "{}",
        bench.timing()
    );
}

/// The `cuda_cc` of every GPU in the catalog, by GPU key.
fn catalog_ccs() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/instances/gpus.toml");
    let text = std::fs::read_to_string(path).expect(path);
    let table: toml::Table = toml::from_str(&text).expect("gpus.toml");
    let gpus = table["gpu"].as_array().expect("[[gpu]] entries");
    gpus.iter()
        .filter_map(|g| {
            Some((
                g["key"].as_str()?.to_string(),
                g.get("cuda_cc")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn cuda_kernels_compile_for_every_catalog_gpu() {
    let ccs = catalog_ccs();
    assert!(
        ccs.contains_key("K80") && ccs.contains_key("T4"),
        "catalog changed: {ccs:?}"
    );
    if let Some(reason) = cuda::nvrtc_missing() {
        if std::env::var("GPUBENCH_SKIP_NVRTC").as_deref() == Ok("1") {
            println!("skipped (GPUBENCH_SKIP_NVRTC=1): {reason}");
            return;
        }
        panic!("{reason}; scripts/test.sh installs it, or set GPUBENCH_SKIP_NVRTC=1 to skip");
    }
    let ptxas = Command::new("ptxas")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ptxas {
        println!("ptxas is not on PATH: PTX is not assembled (pip install nvidia-cuda-nvcc-cu12)");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (gpu, cc) in &ccs {
        let arch = match cuda::arch(cc) {
            Ok(arch) => arch,
            Err(reason) => {
                println!("{gpu} (compute capability {cc}): {reason}");
                let major: u32 = cc.split('.').next().and_then(|m| m.parse().ok()).expect(cc);
                assert!(
                    major < 5 && reason.contains("too old for CUDA 12"),
                    "{gpu}: {reason}"
                );
                continue;
            }
        };
        for kernel in Kernel::ALL {
            let ptx = cuda::compile_ptx(cuda::source(kernel), cc)
                .unwrap_or_else(|e| panic!("{} for {gpu} ({arch}): {e:#}", kernel.name()));
            let sm = arch.replace("compute_", "sm_");
            assert!(
                ptx.contains(&format!(".target {sm}")),
                "{gpu}: no .target {sm}"
            );
            assert!(
                ptx.contains(&format!(".entry {}(", kernel.name())),
                "{gpu}: no entry point"
            );
            // The CUBIN is what the runner loads on a GPU.
            let cubin = cuda::compile_cubin(cuda::source(kernel), cc)
                .unwrap_or_else(|e| panic!("{} for {gpu} ({sm}): {e:#}", kernel.name()));
            assert!(cubin.starts_with(b"\x7fELF"), "{gpu}: the CUBIN is not ELF");
            println!(
                "{gpu} ({arch}): {} compiled, {} bytes of PTX, {} bytes of {sm} CUBIN",
                kernel.name(),
                ptx.len(),
                cubin.len()
            );
            if ptxas {
                let file = dir.path().join(format!("{}_{sm}.ptx", kernel.name()));
                std::fs::write(&file, &ptx).expect("write PTX");
                let out = Command::new("ptxas")
                    .args(["-v", "--gpu-name", &sm, "-o", "/dev/null"])
                    .arg(&file)
                    .output()
                    .expect("ptxas");
                let log = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "ptxas {sm} {}: {log}", kernel.name());
                for line in log
                    .lines()
                    .filter(|l| l.contains("Used") || l.contains("spill"))
                {
                    println!("  {line}");
                }
            }
        }
    }
    assert_eq!(
        cuda::arch("3.7").unwrap_err(),
        "compute capability 3.7 is too old for CUDA 12 (needs compute capability ≥ 5.0)"
    );
}

#[test]
fn cuda_kernels_run_or_say_why_not() {
    let rows = cuda::measure(Devices::All, Some(&small_plan()));
    match cuda::unavailable_reason() {
        Some(reason) => {
            println!("CUDA launch skipped: {reason}");
            assert!(
                rows.iter()
                    .all(|r| r.status == ProbeStatus::Unavailable && r.reason == reason),
                "{rows:?}"
            );
        }
        None => assert_all_ok(&rows),
    }
}
