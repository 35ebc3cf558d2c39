#!/usr/bin/env bash
# Compares gpubench's cpu backend with the TensorFlow/Keras reference (bench/reference/*_tf.py)
# on this machine. Both train the same model with the same weight initialisation, loss, Adam
# (lr 1e-3, ε 1e-5), batch size and training images — synthetic ones, or with --data the same
# Kaggle-format training.csv — and both report steady-state throughput the same way: images
# trained after the first (warm-up) step divided by their training time, validation excluded.
# Each pair also prints both training-loss curves, which should agree within noise. The two
# run alternately, one pair after another, so that drift in the machine's speed (heat, other
# load) hits both alike; the result is the median over the pairs of gpubench/Keras.
#
# Needs target/release/gpubench (cargo build --release) and python3 (3.10–3.13) with venv. The
# first run installs TensorFlow into target/tf-venv (about 1.6 GB, a minute on a fast link).
# Run with --help for the options.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
Usage: bench/compare.sh [--workload keypoints|turtle] [--pairs N] [--batch-size B]
                        [--epochs E] [--images N | --data CSV] [--threads T]

  --workload   keypoints (Nouri's net2, default) or turtle (the seed's CNN)
  --pairs      gpubench/Keras pairs to run, alternately (default 5)
  --batch-size batch size of both (default 32)
  --epochs     epochs per run (default 3)
  --images     synthetic images per run, 20 % held out for validation (default 512)
  --data       keypoints only: a Kaggle-format training.csv both train on instead (for
               instance from `gpubench data synth --rows 512 --out DIR`)
  --threads    CPU threads of both (default: all cores; RAYON_NUM_THREADS for gpubench)
EOF
}

workload=keypoints pairs=5 batch=32 epochs=3 images=512 data="" threads=""
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --workload) workload=${2:?$1 needs a value} ;;
        --pairs) pairs=${2:?$1 needs a value} ;;
        --batch-size) batch=${2:?$1 needs a value} ;;
        --epochs) epochs=${2:?$1 needs a value} ;;
        --images) images=${2:?$1 needs a value} ;;
        --data) data=${2:?$1 needs a value} ;;
        --threads) threads=${2:?$1 needs a value} ;;
        *) usage >&2; exit 2 ;;
    esac
    shift 2
done
case $workload in
    keypoints | turtle) ;;
    *) echo "unknown workload '$workload'" >&2; exit 2 ;;
esac
gpubench_data=(--synthetic "$images") keras_data=(--images "$images")
if [ -n "$data" ]; then
    [ "$workload" = keypoints ] || { echo "--data is for the keypoints workload" >&2; exit 2; }
    [ -f "$data" ] || { echo "--data $data: no such file" >&2; exit 2; }
    gpubench_data=(--data-keypoints "$data") keras_data=(--data "$data")
fi

gpubench=target/release/gpubench
[ -x "$gpubench" ] || { echo "$gpubench is missing: run cargo build --release" >&2; exit 1; }

# tensorflow-cpu has no Linux aarch64 wheels; there the plain package is the CPU-only build.
pin="tensorflow-cpu==2.21.0"
[ "$(uname -m)" = aarch64 ] && pin="tensorflow==2.21.0"
venv=target/tf-venv
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pin" ] || [ ! -x "$venv/bin/python" ]; then
    echo "installing $pin into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$pin"
    echo "$pin" >"$venv/.pins"
fi
py=$venv/bin/python

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

thread_args=()
if [ -n "$threads" ]; then
    export RAYON_NUM_THREADS=$threads
    thread_args=(--threads "$threads")
fi

# images_per_s of the one row in a runs.csv, found by column name; fails unless status=ok.
csv_images_per_s() {
    "$py" - "$1" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="") as f:
    (row,) = csv.DictReader(f)
if row["status"] != "ok" or not row["images_per_s"]:
    sys.exit(f"gpubench run: status={row['status']} {row['error']}")
print(row["images_per_s"])
EOF
}

run_gpubench() {
    local out=$tmp/gpubench-$1
    if ! "$gpubench" run --instance local --backend cpu --workload "$workload" \
        --batch-size "$batch" --epochs "$epochs" "${gpubench_data[@]}" --out "$out" \
        >"$out.log" 2>&1; then
        cat "$out.log" >&2
        exit 1
    fi
    csv_images_per_s "$out/runs.csv"
}

# The per-epoch training losses of gpubench's run $1, comma-separated.
csv_losses() {
    "$py" - "$tmp/gpubench-$1/epochs.csv" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="") as f:
    print(",".join(f"{float(r['train_loss']):.4f}" for r in csv.DictReader(f)))
EOF
}

# The reference prints one line of key=value pairs; this keeps the whole line.
run_keras() {
    "$py" "bench/reference/${workload}_tf.py" --batch-size "$batch" --epochs "$epochs" \
        "${keras_data[@]}" "${thread_args[@]}" 2>"$tmp/keras-$1.log" | tail -n 1 \
        || { cat "$tmp/keras-$1.log" >&2; exit 1; }
}

lscpu_field() { lscpu | sed -n "/^$1: */{s///p;q}"; }
echo "machine: $(lscpu_field 'Model name'), $(lscpu_field 'Socket(s)') socket(s) ×" \
    "$(lscpu_field 'Core(s) per socket') cores, $(nproc) CPUs available, $(uname -sr)"
echo "versions: $("$gpubench" --version), $("$py" --version), $pin"
echo "workload=$workload batch=$batch epochs=$epochs data=${data:-$images synthetic images}" \
    "threads=${threads:-all}"

ratios=()
for i in $(seq 1 "$pairs"); do
    ours=$(run_gpubench "$i")
    line=$(run_keras "$i")
    theirs=$(sed -n 's/^images_per_s=\([^ ]*\).*/\1/p' <<<"$line")
    [ -n "$theirs" ] || { echo "no images_per_s in the Keras output: $line" >&2; exit 1; }
    ratio=$("$py" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" \
        "$ours" "$theirs")
    ratios+=("$ratio")
    echo "pair $i: gpubench $(printf '%.1f' "$ours") img/s, keras $theirs img/s, ratio $ratio" \
        "[$line]"
    echo "        training loss per epoch: gpubench $(csv_losses "$i"), keras" \
        "$(sed -n 's/.*losses=\([^ ]*\).*/\1/p' <<<"$line")"
done
"$py" -c 'import statistics, sys; print(f"gpubench/keras = {statistics.median(map(float, sys.argv[1:])):.3f} (median of {len(sys.argv) - 1} pairs)")' \
    "${ratios[@]}"
