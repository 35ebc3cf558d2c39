#!/usr/bin/env bash
# Downloads a fleet's results from S3 (aws s3 sync) into reports/fleet/<date>/ and merges them
# with `gpubench report` when this gpubench has that command.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/aws/collect.sh --bucket BUCKET [--prefix PREFIX] [--run-id ID] [--out DIR] [--region R]

  --bucket BUCKET  the bucket given to launch-fleet.sh (required)
  --prefix PREFIX  its key prefix [gpubench]
  --run-id ID      only this fleet run [every run under the prefix]
  --out DIR        where to put the files [reports/fleet/<UTC date>]
  --region R       AWS region [the AWS CLI's default]

Files land in DIR/<instance-type>/<run-id>/ (runs.csv, epochs.csv, pictures, logs, status.txt).
Environment: AWS_CLI names the aws executable [aws]; S3_ENDPOINT_URL, when set, is passed as
--endpoint-url (an S3-compatible server); GPUBENCH names the gpubench binary [gpubench on PATH,
else target/release/gpubench].
EOF
}

die() {
    echo "collect: $*" >&2
    exit 2
}

bucket="" prefix="gpubench" run_id="" out="" region=""
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --bucket | --prefix | --run-id | --out | --region)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
        --bucket) bucket="$2" ;;
        --prefix) prefix="$2" ;;
        --run-id) run_id="$2" ;;
        --out) out="$2" ;;
        --region) region="$2" ;;
        esac
        shift 2
        ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ -n "$bucket" ] || { usage >&2; die "--bucket is required"; }
prefix="${prefix#/}"
prefix="${prefix%/}"
[ -n "$out" ] || out="reports/fleet/$(date -u +%Y-%m-%d)"

aws_args=()
[ -z "$region" ] || aws_args+=(--region "$region")
[ -z "${S3_ENDPOINT_URL:-}" ] || aws_args+=(--endpoint-url "$S3_ENDPOINT_URL")
filter=()
[ -z "$run_id" ] || filter=(--exclude '*' --include "*/$run_id/*")

src="s3://$bucket/${prefix:+$prefix/}"
mkdir -p "$out"
echo "syncing $src into $out/"
"${AWS_CLI:-aws}" ${aws_args[@]+"${aws_args[@]}"} s3 sync --only-show-errors "$src" "$out/" \
    ${filter[@]+"${filter[@]}"}

"$(dirname "${BASH_SOURCE[0]}")/../fleet-report.sh" "$out"
