#!/usr/bin/env bash
# Runs gpubench's tests on a fresh Debian/Ubuntu machine, installing what they need first:
# - Mesa's software Vulkan (lavapipe), so the wgpu backend trains for real without a GPU;
# - shellcheck, curl and python3-venv, and moto + the AWS CLI (pinned, in target/test-venv,
#   first on PATH) for tests/fleet.rs, which runs the EC2 scripts against a fake metadata
#   service and moto's S3 server on 127.0.0.1;
# - Chromium, which tests/report.rs uses to render report.html headless and screenshot it;
# - SkyPilot (target/sky-venv), whose own parser checks the fleet task, and MLflow
#   (target/mlflow-venv), whose tracking server `gpubench export mlflow` writes to;
# - Python's jsonschema, for report.json against schema/report-v1.json (tests/report.rs);
# - NVIDIA's NVRTC and ptxas from their PyPI wheels, so tests/kernels.rs compiles
#   the CUDA kernels for every GPU in the catalog on a machine without a GPU or driver.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh --test run).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
ldconfig -p | grep -q 'libvulkan\.so\.1' || apt_missing+=(libvulkan1)
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || apt_missing+=(mesa-vulkan-drivers)
command -v shellcheck >/dev/null || apt_missing+=(shellcheck)
command -v curl >/dev/null || apt_missing+=(curl)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || apt_missing+=(chromium)
if [ ${#apt_missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${apt_missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

# One virtual environment per tool, so their pins never have to agree with each other.
# ensure_venv DIR PINS EXE...: (re)creates DIR with PINS unless it holds them and every EXE.
ensure_venv() {
    local dir=$1 pins=$2
    shift 2
    local ok=1 exe
    [ "$(cat "$dir/.pins" 2>/dev/null)" = "$pins" ] || ok=0
    for exe in "$@"; do [ -x "$dir/bin/$exe" ] || ok=0; done
    [ "$ok" -eq 1 ] && return 0
    echo "installing $pins into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    # shellcheck disable=SC2086 # the pins are separate words
    "$dir/bin/pip" install -q --disable-pip-version-check $pins
    echo "$pins" >"$dir/.pins"
}
venv=target/test-venv
ensure_venv "$venv" "moto[server]==5.2.5 awscli==1.46.2 jsonschema==4.26.0 nvidia-cuda-nvrtc-cu12==12.9.86 nvidia-cuda-nvcc-cu12==12.9.86" \
    moto_server aws
# SkyPilot's own parser checks scripts/skypilot/gpubench.yaml (tests/skypilot.rs).
ensure_venv target/sky-venv "skypilot==0.14.1" sky
# A real MLflow tracking server for `gpubench export mlflow` (tests/mlflow.rs).
ensure_venv target/mlflow-venv "mlflow==3.17.2" mlflow
export PATH="$PWD/$venv/bin:$PATH"
# cudarc finds libnvrtc.so.12 through the loader path; ptxas prints registers per kernel.
nv=$("$venv/bin/python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0] + "/"))')
LD_LIBRARY_PATH="$nv/cuda_nvrtc/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PATH="$nv/cuda_nvcc/bin:$PATH"
export LD_LIBRARY_PATH PATH

# One profile (release) for the binary and the tests, so burn is compiled once.
# --all-targets also runs each criterion bench once, as a check that it works.
cargo test --release --all-targets --no-fail-fast "$@"
