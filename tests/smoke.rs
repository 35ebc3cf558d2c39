//! `scripts/gpu-smoke.sh`: shellcheck; on this machine with the built binary (without a GPU every
//! check fails with its reason); and with a stand-in gpubench that answers as a working GPU
//! machine would, so the passing path and the parity verdict are checked too.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::fleet::{repo, require, tool_path};
use common::text;

fn smoke(gpubench: &Path, out: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let o = Command::new("bash")
        .arg(repo().join("scripts/gpu-smoke.sh"))
        .arg("--gpubench")
        .arg(gpubench)
        .arg("--out")
        .arg(out)
        // The kernels test belongs to a GPU machine, not to this test.
        .arg("--no-cargo")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), text(&o))
}

#[test]
fn shellcheck_passes_on_the_smoke_script() {
    require(&["shellcheck"]);
    let o = Command::new("shellcheck")
        .env("PATH", tool_path())
        .arg(repo().join("scripts/gpu-smoke.sh"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn on_this_machine_each_check_says_pass_or_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = smoke(Path::new(env!("CARGO_BIN_EXE_gpubench")), dir.path(), &[]);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .collect();
    let checks: Vec<&str> = lines
        .iter()
        .map(|l| l[5..].split(':').next().unwrap())
        .collect();
    assert_eq!(
        checks,
        ["cuda probe", "cuda kernels", "cuda run", "cuda parity"],
        "{out}"
    );
    let all_pass = lines.iter().all(|l| l.starts_with("PASS"));
    assert_eq!(code, if all_pass { 0 } else { 1 }, "{out}");
    if !out.contains("PASS cuda probe") {
        // No GPU here: the probe's own reason, and nothing trained.
        assert!(lines[0].starts_with("FAIL cuda probe: "), "{out}");
        assert!(lines[2].contains("skipped"), "{out}");
        assert!(!dir.path().join("run").exists());
    }
}

/// A gpubench that answers like one on a working GPU, its cuda loss per epoch from `FAKE_LOSS`.
const FAKE: &str = r#"#!/bin/bash
out=""; prev=""
for a in "$@"; do [ "$prev" = "--out" ] && out="$a"; prev="$a"; done
mkdir -p "$out"
case "$1" in
probe)
    echo "backend status       device                                   kind          driver"
    echo "cuda    available    NVIDIA A10G                              discrete-gpu  CUDA 12.4, sm_86"
    echo "cpu     available    AMD EPYC                                 cpu           -"
    printf 'api,device,device_type,details,kernel,size,status,value,unit,timing,max_rel_error,reason\n' >"$out/probe.csv"
    printf 'cuda,NVIDIA A10G,discrete-gpu,,gemm,n=4096,ok,21000.5,GFLOP/s,gpu-timestamp,1e-6,\n' >>"$out/probe.csv"
    printf 'cuda,NVIDIA A10G,discrete-gpu,,copy,256MiB,ok,512.25,GB/s,gpu-timestamp,0,\n' >>"$out/probe.csv"
    ;;
run)
    printf 'backend,status,error,device_name,images_per_s\ncuda,ok,,NVIDIA A10G,4321.5\ncpu,ok,,AMD EPYC,250\n' >"$out/runs.csv"
    read -r c1 c2 <<<"$FAKE_LOSS"
    printf 'backend,epoch,train_loss\ncuda,1,%s\ncuda,2,%s\ncpu,1,0.03\ncpu,2,0.02\n' "$c1" "$c2" >"$out/epochs.csv"
    ;;
esac
"#;

#[test]
fn a_working_gpu_passes_and_a_diverging_one_fails_parity() {
    require(&["python3"]);
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("gpubench");
    std::fs::write(&fake, FAKE).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let (code, out) = smoke(
        &fake,
        &dir.path().join("a"),
        &[("FAKE_LOSS", "0.029 0.021")],
    );
    assert_eq!(code, 0, "{out}");
    for line in [
        "PASS cuda probe: NVIDIA A10G discrete-gpu CUDA 12.4, sm_86",
        "PASS cuda kernels: GEMM 21000 GFLOP/s, copy 512 GB/s, every result matches the CPU",
        "PASS cuda run: NVIDIA A10G, 4322 images/s",
        "PASS cuda parity: cuda loss [0.029, 0.021] falls; 5% from cpu's [0.03, 0.02]",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }

    let (code, out) = smoke(&fake, &dir.path().join("b"), &[("FAKE_LOSS", "0.03 0.09")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "FAIL cuda parity: cuda loss [0.03, 0.09] against cpu's [0.03, 0.02] (350% apart)"
        ),
        "{out}"
    );
}
