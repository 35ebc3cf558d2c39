#!/usr/bin/env bash
# Downloads a SkyPilot sweep's results from its bucket (S3, GCS or Azure Blob) into
# reports/fleet/<date>/ and merges them with `gpubench report`. Run with --help for the details.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/skypilot/collect.sh --bucket URL [--prefix PREFIX] [--run-id ID] [--out DIR]

  --bucket URL     the bucket given to sweep.sh: s3://NAME (aws s3 sync), gs://NAME
                   (gcloud storage rsync) or https://ACCOUNT.blob.core.windows.net/CONTAINER
                   (az storage blob download-batch) (required)
  --prefix PREFIX  its key prefix [gpubench]
  --run-id ID      only this sweep [every sweep under the prefix]
  --out DIR        where to put the files [reports/fleet/<UTC date>]

Files land in DIR/<cloud>/<instance-type>/<run-id>/attempt-<n>/ (runs.csv, epochs.csv,
pictures, gpubench.log, status.txt); then `gpubench report --in DIR --out DIR` runs.
Environment: AWS_CLI, GCLOUD, AZ name those executables [aws, gcloud, az]; GPUBENCH names the
gpubench binary [gpubench on PATH, else target/release/gpubench].
EOF
}

die() {
    echo "collect: $*" >&2
    exit 2
}

bucket="" prefix="gpubench" run_id="" out=""
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --bucket | --prefix | --run-id | --out)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
        --bucket) bucket=$2 ;;
        --prefix) prefix=$2 ;;
        --run-id) run_id=$2 ;;
        --out) out=$2 ;;
        esac
        shift 2
        ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ -n "$bucket" ] || { usage >&2; die "--bucket is required"; }
[ -z "$run_id" ] || [[ $run_id =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "--run-id wants letters, digits and . _ -, not '$run_id'"
prefix="${prefix#/}"
prefix="${prefix%/}"
[ -n "$out" ] || out="reports/fleet/$(date -u +%Y-%m-%d)"
mkdir -p "$out"

case "$bucket" in
s3://*)
    src="${bucket%/}/${prefix:+$prefix/}"
    filter=()
    [ -z "$run_id" ] || filter=(--exclude '*' --include "*/$run_id/*")
    echo "syncing $src into $out/"
    "${AWS_CLI:-aws}" s3 sync --only-show-errors "$src" "$out/" ${filter[@]+"${filter[@]}"}
    ;;
gs://*)
    src="${bucket%/}/${prefix:+$prefix/}"
    filter=()
    # gcloud excludes by regular expression on the path below the source
    [ -z "$run_id" ] || filter=(--exclude "^(?!.*/${run_id//./\\.}/).*")
    echo "syncing $src into $out/"
    "${GCLOUD:-gcloud}" storage rsync --recursive "$src" "$out/" ${filter[@]+"${filter[@]}"}
    ;;
https://*.blob.core.windows.net/*)
    account="${bucket#https://}"
    account="${account%%.*}"
    container="${bucket#https://*/}"
    container="${container%/}"
    # download-batch keeps the whole blob name, so the prefix lands under a staging folder
    stage=$(mktemp -d "$out/.collect.XXXXXX")
    trap 'rm -rf -- "$stage"' EXIT
    echo "downloading $bucket/${prefix:+$prefix/} into $out/"
    "${AZ:-az}" storage blob download-batch --only-show-errors --account-name "$account" \
        --source "$container" --destination "$stage" \
        --pattern "${prefix:+$prefix/}*${run_id:+/$run_id/*}" >/dev/null
    if [ -d "$stage/${prefix:-.}" ]; then cp -R "$stage/${prefix:-.}/." "$out/"; fi
    ;;
*) die "--bucket wants s3://NAME, gs://NAME or https://ACCOUNT.blob.core.windows.net/CONTAINER, not '$bucket'" ;;
esac

"$(dirname "${BASH_SOURCE[0]}")/../fleet-report.sh" "$out"
