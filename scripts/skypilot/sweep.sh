#!/usr/bin/env bash
# Launches one SkyPilot managed job of gpubench.yaml per GPU type, after checking the sweep's
# worst-case cost against --max-usd. Run with --help for the details.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/skypilot/sweep.sh --gpus T4,L4,A10G,A100 --bucket URL [options]

Launches one detached SkyPilot managed job (`sky jobs launch`) of scripts/skypilot/gpubench.yaml
per GPU type. Each job runs `gpubench run --instance auto` on an instance SkyPilot picks and
copies the results to URL under PREFIX/<cloud>/<instance-type>/RUN_ID/attempt-<n>/.
THIS LAUNCHES REAL, BILLED CLOUD INSTANCES. Try --dry-run first.

  --gpus LIST        SkyPilot accelerator names, comma-separated, each NAME or NAME:COUNT
                     (T4, L4, A10G, A100, A100-80GB, V100, H100, L40S); one job each (required)
  --bucket URL       where results go: s3://NAME, gs://NAME or
                     https://ACCOUNT.blob.core.windows.net/CONTAINER (required)
  --clouds LIST      the clouds SkyPilot may pick from [aws,gcp,azure]
  --spot             spot instances (managed jobs recover from preemption by rerunning)
  --max-usd N        refuse the sweep (exit 2, nothing launched) if its worst-case cost is above
                     N US dollars: per job, the highest on-demand (--spot: spot) price in
                     instances/*.toml of an instance with that GPU and count on the allowed
                     clouds, times --hours; a GPU the catalog has no such price for is refused
  --hours H          expected hours per job, for --max-usd
                     [(--timeout-min + 15 min of provisioning and setup) / 60, i.e. 1.25]
  --timeout-min M    `gpubench run` is stopped after M minutes [60]
  --run-id ID        the sweep's id, part of job names and result paths [UTC time, YYYYmmdd-HHMMSS]
  --prefix P         key prefix in the bucket [gpubench]
  --workloads W      gpubench --workload [keypoints,turtle]
  --backends B       gpubench --backend [gpubench's default: all]
  --epochs N         gpubench --epochs [3]
  --gpubench-args S  more `gpubench run` arguments, e.g. "--batch-size 32,64 --repeats 3"
  --binary PATH      a prebuilt gpubench in the bucket [bin/gpubench]
  --git-rev REV      build gpubench at this commit instead (with --repo URL)
  --repo URL         the git repository for --git-rev
  --dry-run          print the sky commands and the cost check; launch nothing
  -h, --help         this text

Watch and stop:   sky jobs queue;  sky jobs cancel -n NAME;  sky jobs cancel -a (all)
Then:             scripts/skypilot/collect.sh --bucket URL --run-id ID
Environment: SKY names the sky executable [sky].
EOF
}

die() {
    echo "sweep: $*" >&2
    exit 2
}

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
gpus="" bucket="" clouds="aws,gcp,azure" spot=0 max_usd="" hours="" timeout_min=60
run_id="" prefix="gpubench" workloads="keypoints,turtle" backends="" epochs=3 extra=""
binary="bin/gpubench" git_rev="" repo="" dry_run=0
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --spot) spot=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    --gpus | --bucket | --clouds | --max-usd | --hours | --timeout-min | --run-id | --prefix | \
        --workloads | --backends | --epochs | --gpubench-args | --binary | --git-rev | --repo)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
        --gpus) gpus=$2 ;;
        --bucket) bucket=$2 ;;
        --clouds) clouds=$2 ;;
        --max-usd) max_usd=$2 ;;
        --hours) hours=$2 ;;
        --timeout-min) timeout_min=$2 ;;
        --run-id) run_id=$2 ;;
        --prefix) prefix=$2 ;;
        --workloads) workloads=$2 ;;
        --backends) backends=$2 ;;
        --epochs) epochs=$2 ;;
        --gpubench-args) extra=$2 ;;
        --binary) binary=$2 ;;
        --git-rev) git_rev=$2 ;;
        --repo) repo=$2 ;;
        esac
        shift 2
        ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[ -n "$gpus" ] || { usage >&2; die "--gpus is required"; }
[ -n "$bucket" ] || { usage >&2; die "--bucket is required"; }
[[ $bucket =~ ^(s3://|gs://|https://[a-z0-9]+\.blob\.core\.windows\.net/)[a-z0-9][a-z0-9._-]*$ ]] ||
    die "--bucket wants s3://NAME, gs://NAME or https://ACCOUNT.blob.core.windows.net/CONTAINER, not '$bucket'"
[[ $timeout_min =~ ^[1-9][0-9]*$ ]] || die "--timeout-min wants a positive whole number of minutes, not '$timeout_min'"
[[ $epochs =~ ^[1-9][0-9]*$ ]] || die "--epochs wants a positive whole number, not '$epochs'"
[ -n "$hours" ] || hours=$(python3 -c 'import sys; print((int(sys.argv[1]) + 15) / 60)' "$timeout_min")
[[ $hours =~ ^[0-9]*\.?[0-9]+$ ]] || die "--hours wants a positive number, not '$hours'"
[ -z "$max_usd" ] || [[ $max_usd =~ ^[0-9]*\.?[0-9]+$ ]] || die "--max-usd wants a number of US dollars, not '$max_usd'"
[ -n "$run_id" ] || run_id=$(date -u +%Y%m%d-%H%M%S)
[[ $run_id =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "--run-id wants letters, digits and . _ -, not '$run_id'"
[[ $prefix =~ ^[A-Za-z0-9][A-Za-z0-9._/-]*$ ]] || die "--prefix wants letters, digits and . _ - /, not '$prefix'"
if [ -n "$git_rev" ] && [ -z "$repo" ]; then die "--git-rev needs --repo (the git URL to build)"; fi
if [[ $repo =~ ://[^/]*@ ]]; then die "--repo must not carry credentials"; fi
IFS=, read -r -a cloud_list <<<"$clouds"
for c in "${cloud_list[@]}"; do
    case "$c" in aws | gcp | azure) ;; *) die "--clouds: '$c' is not one of aws, gcp, azure" ;; esac
done
IFS=, read -r -a gpu_list <<<"$gpus"
for g in "${gpu_list[@]}"; do
    [[ $g =~ ^[A-Za-z0-9][A-Za-z0-9-]*(:[1-9][0-9]*)?$ ]] || die "--gpus: '$g' is not NAME or NAME:COUNT"
done

# The worst case per job from our catalog (SkyPilot may fall back from the cheapest offer when
# it finds no capacity, so the upper bound is the honest guard). Prints one line per job.
# The GPU names are SkyPilot's; the catalog's keys are those of instances/gpus.toml.
estimate=$(python3 - "$here/../../instances" "$clouds" "$spot" "$hours" "${max_usd:-}" "${gpu_list[@]}" <<'PY'
import sys, tomllib
from pathlib import Path

inst_dir, clouds, spot, hours, max_usd, *gpus = sys.argv[1:]
clouds, spot, hours = clouds.split(","), spot == "1", float(hours)
SKY_TO_KEY = {
    "T4": "T4", "L4": "L4", "A10G": "A10G", "L40S": "L40S", "V100": "V100-SXM2-16GB",
    "A100": "A100-SXM4-40GB", "A100-80GB": "A100-80GB", "H100": "H100-SXM5-80GB",
    "K80": "K80", "M60": "M60", "T4G": "T4G",
}
entries = []
for cloud in clouds:
    with open(Path(inst_dir) / f"{cloud}.toml", "rb") as f:
        entries += tomllib.load(f).get("instance", [])
kind = "spot_usd_per_hour" if spot else "price_usd_per_hour"
total, missing = 0.0, []
for gpu in gpus:
    name, _, count = gpu.partition(":")
    count = int(count or 1)
    key = SKY_TO_KEY.get(name.upper())
    offers = [
        (e[kind], e["name"], e["provider"]) for e in entries
        if key and e.get("gpu") == key and e.get("gpu_count") == count and e.get(kind) is not None
    ]
    if not offers:
        missing.append(gpu)
        print(f"{gpu}\t-\t-\tno {'spot' if spot else 'on-demand'} price in instances/{{{','.join(clouds)}}}.toml")
        continue
    price, inst, provider = max(offers)
    total += price * hours
    print(f"{gpu}\t{price:.4f}\t{price * hours:.2f}\t{provider} {inst} ({len(offers)} priced)")
print(f"TOTAL\t{total:.2f}\t{hours:g}\t{len(missing)}")
PY
)

echo "sweep $run_id: ${#gpu_list[@]} job(s) on ${clouds}$([ "$spot" -eq 0 ] || echo ', spot'), results to $bucket/$prefix/"
echo "worst case per job (${hours} h each):"
total_line=$(grep '^TOTAL' <<<"$estimate")
while IFS=$'\t' read -r gpu price cost what; do
    [ "$gpu" != TOTAL ] || continue
    if [ "$price" = - ]; then
        printf '  %-12s %s\n' "$gpu" "$what"
    else
        printf '  %-12s %8s USD/h  %8s USD  %s\n' "$gpu" "$price" "$cost" "$what"
    fi
done <<<"$estimate"
IFS=$'\t' read -r _ total _ n_missing <<<"$total_line"
echo "  total        ${total} USD (for the GPUs priced)"
if [ -n "$max_usd" ]; then
    [ "$n_missing" -eq 0 ] || die "--max-usd $max_usd: $n_missing GPU type(s) have no price to check; nothing launched"
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$total" "$max_usd"; then
        die "the worst case, $total USD, is above --max-usd $max_usd; nothing launched"
    fi
    echo "  within --max-usd $max_usd"
fi

# The task with only the allowed clouds among its candidates (the lines marked sweep:cloud).
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
task="$work/gpubench.yaml"
awk -v keep=",$clouds," '
    /# sweep:cloud$/ { c = $0; sub(/^.*infra: */, "", c); sub(/ .*$/, "", c); if (index(keep, "," c ",") == 0) next }
    { print }' "$here/gpubench.yaml" >"$task"

sky=${SKY:-sky}
if [ "$dry_run" -eq 0 ]; then
    command -v "$sky" >/dev/null || die "no SkyPilot: $sky not found (pip install skypilot, then sky check)"
fi
for g in "${gpu_list[@]}"; do
    [[ $g == *:* ]] || g="$g:1"
    name="gpubench-$run_id-${g%%:*}"
    name=$(tr 'A-Z._' 'a-z--' <<<"$name")
    cmd=("$sky" jobs launch --yes --detach-run --name "$name" --gpus "$g")
    [ "$spot" -eq 0 ] || cmd+=(--use-spot)
    cmd+=(--env "GPUBENCH_BUCKET=$bucket" --env "GPUBENCH_PREFIX=$prefix" --env "GPUBENCH_RUN_ID=$run_id"
        --env "GPUBENCH_BINARY=$binary" --env "GPUBENCH_REPO=$repo" --env "GPUBENCH_GIT_REV=$git_rev"
        --env "GPUBENCH_WORKLOADS=$workloads" --env "GPUBENCH_BACKENDS=$backends"
        --env "GPUBENCH_EPOCHS=$epochs" --env "GPUBENCH_ARGS=$extra" --env "GPUBENCH_SPOT=$spot"
        --env "GPUBENCH_TIMEOUT_MIN=$timeout_min")
    if [ "$dry_run" -eq 1 ]; then
        printf '%q ' "${cmd[@]}"
        echo "scripts/skypilot/gpubench.yaml  # clouds: $clouds"
    else
        echo "launching $name"
        if ! "${cmd[@]}" "$task"; then
            echo "sweep: sky jobs launch failed for $g; the jobs launched before it keep running (sky jobs queue)" >&2
            exit 1
        fi
    fi
done
if [ "$dry_run" -eq 1 ]; then
    echo "dry run: nothing launched"
else
    echo "launched ${#gpu_list[@]} job(s). Watch: sky jobs queue. Stop all: sky jobs cancel -a"
    echo "when they are done: scripts/skypilot/collect.sh --bucket $bucket --prefix $prefix --run-id $run_id"
fi
