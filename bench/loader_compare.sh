#!/usr/bin/env bash
# Loader speed, gpubench against pandas, on one training.csv: Kaggle's real file when given,
# else a 7049-row stand-in from `gpubench data synth` (≈ the real file's size).
#   bench/loader_compare.sh [training.csv]
# Prints pandas' MB/s (read_csv alone, and the seeds' read_csv + np.fromstring), then the
# criterion bench `load_keypoints` on the same file (its "thrpt" line, MB/s). Needs python3
# with venv; pandas and numpy go into target/loader-compare/venv.
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/loader-compare
mkdir -p "$work"
csv=${1:-}
if [ -z "$csv" ]; then
    # The test build (scripts/test.sh) leaves this binary; build it only when it is missing.
    [ -x target/release/gpubench ] || cargo build --release --bin gpubench
    target/release/gpubench data synth --out "$work/data" --rows 7049
    csv=$work/data/training.csv
fi
csv=$(realpath "$csv")
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet pandas numpy
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/venv/bin/python" bench/loader_pandas.py "$csv"
KEYPOINTS_CSV=$csv cargo bench --bench load_keypoints -- load_keypoints/mask
