#!/usr/bin/env bash
# The first checks on a GPU machine, before any benchmark is trusted: does the CUDA path load,
# does it compute what the CPU computes, and does a short training run agree with the cpu
# backend? One line per check, PASS or FAIL with what failed; exit 0 when every check passed.
#
#   scripts/gpu-smoke.sh [--gpubench PATH] [--out DIR] [--no-cargo]
#
# --gpubench: the binary (default: gpubench on PATH, else target/release/gpubench).
# --out: where probe.csv, the run's CSVs and the log go (default: a new temporary directory).
# In a source checkout with cargo, the CUDA kernels test (tests/kernels.rs) runs too, unless
# --no-cargo.
set -uo pipefail

gpubench=""
out=""
cargo_test=1
while [ $# -gt 0 ]; do
    case "$1" in
    --gpubench) gpubench="${2:?--gpubench needs a path}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --no-cargo) cargo_test=0; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "gpu-smoke: unknown argument $1" >&2; exit 2 ;;
    esac
done
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$gpubench" ]; then
    gpubench="$(command -v gpubench || echo "$here/target/release/gpubench")"
fi
[ -x "$gpubench" ] || { echo "gpu-smoke: no gpubench binary at $gpubench" >&2; exit 2; }
command -v python3 >/dev/null || { echo "gpu-smoke: python3 is needed to read the CSVs" >&2; exit 2; }
[ -n "$out" ] || out="$(mktemp -d "${TMPDIR:-/tmp}/gpu-smoke.XXXXXX")"
mkdir -p "$out"
log="$out/gpu-smoke.log"
: >"$log"

failed=0
pass() { printf 'PASS %s: %s\n' "$1" "$2"; }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; failed=1; }

# 1. The backend probe: driver, bindings, NVRTC and toolkit headers (the reason when not).
"$gpubench" probe --out "$out" >"$out/probe.txt" 2>>"$log"
# The first line for cuda is the backend table's; the measured kernels are listed after it.
cuda_line="$(grep -m1 -E '^cuda ' "$out/probe.txt" || true)"
case "$cuda_line" in
*" available "*) pass "cuda probe" "$(echo "$cuda_line" | tr -s ' ' | cut -d' ' -f3-)" ;;
"") fail "cuda probe" "gpubench probe printed no cuda line (see $out/probe.txt)" ;;
*) fail "cuda probe" "$(echo "$cuda_line" | sed -E 's/^cuda +unavailable +//')" ;;
esac

# 2. gpubench's own CUDA kernels (GEMM, copy), each result checked against the CPU.
kernels="$(python3 - "$out/probe.csv" <<'PY'
import csv, sys
try:
    rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["api"] == "cuda"]
except OSError as e:
    print(f"FAIL no probe.csv: {e}")
    sys.exit()
bad = {}
for r in rows:
    if r["status"] != "ok":
        bad.setdefault(f"{r['status']}: {r['reason']}", []).append(f"{r['kernel']} {r['size']}".strip())
if not rows or bad:
    print("FAIL " + ("; ".join(f"{', '.join(k)}: {why}" for why, k in bad.items()) or "no cuda rows"))
else:
    gemm = max(float(r["value"]) for r in rows if r["kernel"] == "gemm")
    copy = max(float(r["value"]) for r in rows if r["kernel"] == "copy")
    print(f"PASS GEMM {gemm:.0f} GFLOP/s, copy {copy:.0f} GB/s, every result matches the CPU")
PY
)"
case "$kernels" in
PASS*) pass "cuda kernels" "${kernels#PASS }" ;;
*) fail "cuda kernels" "${kernels#FAIL }" ;;
esac
if [ "$failed" -eq 0 ] && [ "$cargo_test" -eq 1 ] && command -v cargo >/dev/null \
    && [ -f "$here/tests/kernels.rs" ]; then
    if (cd "$here" && cargo test --release --test kernels) >>"$log" 2>&1; then
        pass "kernels test" "cargo test --release --test kernels"
    else
        fail "kernels test" "cargo test --release --test kernels failed (see $log)"
    fi
fi

# 3. A short keypoints run on cuda beside cpu: cuda must finish, and its loss must fall and
# stay near the cpu's (loosely: each backend draws its own initial weights until same-start
# initialisation lands, so only the trend and the size are compared).
if [ "$failed" -ne 0 ]; then
    fail "cuda run" "skipped: the checks above failed"
    fail "cuda parity" "skipped: the checks above failed"
else
    "$gpubench" run --instance local --backend cuda,cpu --workload keypoints \
        --synthetic 512 --epochs 2 --batch-size 32 --seed 1 --out "$out/run" >>"$log" 2>&1
    verdict="$(python3 - "$out/run" <<'PY'
import csv, sys
d = sys.argv[1]
try:
    runs = {r["backend"]: r for r in csv.DictReader(open(f"{d}/runs.csv"))}
    epochs = list(csv.DictReader(open(f"{d}/epochs.csv")))
except OSError as e:
    print(f"FAIL run: no CSV: {e}\nFAIL parity: no CSV")
    sys.exit()
cuda = runs.get("cuda", {})
if cuda.get("status") != "ok":
    print(f"FAIL run: status {cuda.get('status', 'missing')}: {cuda.get('error', '')}")
    print("FAIL parity: no cuda run to compare")
    sys.exit()
print(f"PASS run: {cuda['device_name']}, {float(cuda['images_per_s']):.0f} images/s")
loss = {b: [float(e["train_loss"]) for e in epochs if e["backend"] == b] for b in ("cuda", "cpu")}
if len(loss["cuda"]) < 2 or len(loss["cpu"]) < 2:
    print("FAIL parity: fewer than two epochs per backend")
    sys.exit()
dev = abs(loss["cuda"][-1] - loss["cpu"][-1]) / loss["cpu"][-1]
if loss["cuda"][-1] < loss["cuda"][0] and dev <= 0.5:
    print(f"PASS parity: cuda loss {loss['cuda']} falls; {dev:.0%} from cpu's {loss['cpu']}")
else:
    print(f"FAIL parity: cuda loss {loss['cuda']} against cpu's {loss['cpu']} ({dev:.0%} apart)")
PY
)"
    while IFS= read -r line; do
        case "$line" in
        "PASS run: "*) pass "cuda run" "${line#PASS run: }" ;;
        "FAIL run: "*) fail "cuda run" "${line#FAIL run: }" ;;
        "PASS parity: "*) pass "cuda parity" "${line#PASS parity: }" ;;
        "FAIL parity: "*) fail "cuda parity" "${line#FAIL parity: }" ;;
        esac
    done <<<"$verdict"
fi

echo "details: $out"
exit "$failed"
