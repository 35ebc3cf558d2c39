#!/usr/bin/env bash
# Says how many runs a collector brought into DIR and how many reported a failure, then merges
# them with `gpubench report --in DIR --out DIR`. Shared by scripts/aws/collect.sh and
# scripts/skypilot/collect.sh. GPUBENCH names the gpubench binary [gpubench on PATH, else
# target/release/gpubench of this checkout].
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: scripts/fleet-report.sh DIR" >&2; exit 2; }
out=$1

n_runs=$(find "$out" -name runs.csv | wc -l)
n_failed=$(grep -rlsx 'exit_status=[1-9][0-9]*' --include status.txt "$out" | wc -l || true)
echo "$n_runs runs.csv file(s) in $out; $n_failed run(s) reported a failure (see their status.txt and logs)"

gpubench="${GPUBENCH:-}"
if [ -z "$gpubench" ]; then
    if command -v gpubench >/dev/null; then
        gpubench=gpubench
    else
        gpubench="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/release/gpubench"
    fi
fi
if [ "$n_runs" -eq 0 ]; then
    echo "nothing to report yet: no runs.csv in $out"
elif [ -x "$(command -v "$gpubench" || true)" ]; then
    "$gpubench" report --in "$out" --out "$out"
else
    echo "note: no gpubench binary ($gpubench); run \`gpubench report --in $out --out $out\`"
fi
