#!/usr/bin/env bash
# Starts one EC2 instance per instance type, each running scripts/aws/user-data.sh: gpubench runs,
# uploads its CSVs and logs to S3, then the instance shuts itself down and is terminated.
# See scripts/aws/README.md (and its cost warning) before the first real launch.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/aws/launch-fleet.sh --types g4dn.xlarge,g5.xlarge,... --bucket BUCKET [options]

  --types LIST             instance types, comma-separated; one instance each (required)
  --bucket BUCKET          S3 bucket that receives the results (required)
  --prefix PREFIX          key prefix in the bucket, not empty, no leading / [gpubench]
  --region REGION          AWS region [the AWS CLI's default]
  --spot                   launch spot instances (MarketType=spot) instead of on-demand
  --max-minutes M          backstop: each instance powers off after M minutes [90]
  --instance-profile NAME  IAM instance profile allowed to write to the bucket [gpubench-fleet]
  --key-name K             EC2 key pair for SSH (debugging only) [none]
  --ami ID                 AMI id [latest Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu
                           22.04), resolved through its public SSM parameter]
  --subnet-id ID           subnet [the default VPC's]
  --security-group-ids IDS security groups, comma-separated [the VPC's default]
  --binary-s3 S3URI        prebuilt gpubench to download (s3://...); without it each instance
                           builds gpubench with cargo, which is billed GPU time
  --repo URL               git repository to build from (when --binary-s3 is not given)
  --rev REV                commit, tag or branch to build [the default branch]
  --workloads LIST         gpubench --workload [keypoints,turtle]
  --backends LIST          gpubench --backend [all]
  --epochs N               gpubench --epochs [3]
  --gpubench-args "ARGS"   more arguments for `gpubench run` (e.g. "--batch-size 32,64 --repeats 3")
  --run-id ID              fleet run id, in the tags and the S3 keys [UTC time + random]
  --nodes N                N instances of each type train one run together (data-parallel
                           over all their GPUs), in a cluster placement group; needs one
                           --workloads and one --backends, and a security group that lets the
                           instances reach each other on TCP 29500-(29501+N) [1]
  --dry-run                print the AWS CLI commands and the user data's variables; call nothing
  -h, --help               this help

Environment: AWS_CLI names the aws executable [aws].
Results land in s3://BUCKET/PREFIX/<instance-type>/<run-id>/; fetch them with scripts/aws/collect.sh.
EOF
}

die() {
    echo "launch-fleet: $*" >&2
    exit 2
}

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
USER_DATA_SRC="$SCRIPT_DIR/user-data.sh"
SMOKE_SRC="$SCRIPT_DIR/../gpu-smoke.sh"
SSM_AMI_PARAM=/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id
AWS_CLI="${AWS_CLI:-aws}"
USER_DATA_LIMIT=16384 # bytes, EC2's limit before base64 (the user data goes gzipped)

types="" bucket="" prefix="gpubench" region="" spot=0 max_minutes=90
profile="gpubench-fleet" key_name="" ami="" subnet="" sgs="" binary_s3=""
repo="" rev="" workloads="" backends="" epochs="" gpubench_args="" run_id="" dry_run=0 nodes=1

while [ $# -gt 0 ]; do
    opt="$1"
    case "$opt" in
    -h | --help) usage; exit 0 ;;
    --spot) spot=1; shift; continue ;;
    --dry-run) dry_run=1; shift; continue ;;
    --types | --bucket | --prefix | --region | --max-minutes | --instance-profile | --key-name | --ami | \
        --subnet-id | --security-group-ids | --binary-s3 | --repo | --rev | --workloads | --backends | \
        --epochs | --gpubench-args | --run-id | --nodes)
        [ $# -ge 2 ] || die "$opt needs a value"
        val="$2"
        shift 2
        ;;
    *) usage >&2; die "unknown argument: $opt" ;;
    esac
    case "$opt" in
    --types) types="$val" ;;
    --bucket) bucket="$val" ;;
    --prefix) prefix="$val" ;;
    --region) region="$val" ;;
    --max-minutes) max_minutes="$val" ;;
    --instance-profile) profile="$val" ;;
    --key-name) key_name="$val" ;;
    --ami) ami="$val" ;;
    --subnet-id) subnet="$val" ;;
    --security-group-ids) sgs="$val" ;;
    --binary-s3) binary_s3="$val" ;;
    --repo) repo="$val" ;;
    --rev) rev="$val" ;;
    --workloads) workloads="$val" ;;
    --backends) backends="$val" ;;
    --epochs) epochs="$val" ;;
    --gpubench-args) gpubench_args="$val" ;;
    --run-id) run_id="$val" ;;
    --nodes) nodes="$val" ;;
    esac
done

# --- validate -----------------------------------------------------------------------------------
[ -n "$types" ] || { usage >&2; die "--types is required"; }
[ -n "$bucket" ] || { usage >&2; die "--bucket is required"; }
[[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "--bucket: not an S3 bucket name: $bucket"
[[ "$max_minutes" =~ ^[1-9][0-9]*$ ]] || die "--max-minutes: a whole number of minutes, got: $max_minutes"
[ -z "$epochs" ] || [[ "$epochs" =~ ^[1-9][0-9]*$ ]] || die "--epochs: a positive whole number, got: $epochs"
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || die "--nodes: a positive whole number, got: $nodes"
if [ "$nodes" -gt 1 ]; then
    # A multi-node run is one gpubench run: one workload on one backend.
    [[ -n "$workloads" && "$workloads" != *,* && "$workloads" != all ]] ||
        die "--nodes $nodes trains one run: give one --workloads"
    [[ -n "$backends" && "$backends" != *,* && "$backends" != all ]] ||
        die "--nodes $nodes trains one run: give one --backends"
fi
[ -z "$binary_s3" ] || [[ "$binary_s3" == s3://?*/?* ]] || die "--binary-s3: expected s3://bucket/key, got: $binary_s3"
[ -z "$ami" ] || [[ "$ami" =~ ^ami-[0-9a-f]+$ ]] || die "--ami: expected ami-..., got: $ami"
# User data is readable by anyone who can describe the instance: keep credentials out of it.
[[ "$repo" != *://*@* ]] || die "--repo: no credentials in the URL (user data is not secret)"
[ -n "$binary_s3" ] || [ -n "$repo" ] || die "give --binary-s3 s3://... or --repo URL: how instances get gpubench"
# The instance role may write only under PREFIX/ (iam-policy.json): an empty prefix would be the
# whole bucket, and a leading / a key no policy names.
[ -n "$prefix" ] || die "--prefix: must not be empty (the instances write only under it)"
[[ "$prefix" != /* ]] || die "--prefix: no leading /, got: $prefix"
[[ "$prefix" =~ ^[A-Za-z0-9._/-]+$ && "$prefix" != *//* ]] ||
    die "--prefix: letters, digits, . _ - and single / only, got: $prefix"
prefix="${prefix%/}"
IFS=',' read -r -a type_list <<<"$types"
[ "${#type_list[@]}" -gt 0 ] || die "--types is empty"
for t in "${type_list[@]}"; do
    [[ "$t" =~ ^[a-z][a-z0-9-]*\.[a-z0-9]+$ ]] || die "--types: not an instance type: '$t'"
done
[ -r "$USER_DATA_SRC" ] || die "missing $USER_DATA_SRC"
[ -r "$SMOKE_SRC" ] || die "missing $SMOKE_SRC"
[ -n "$run_id" ] || run_id="$(date -u +%Y%m%dT%H%M%SZ)-$(printf '%04x' $((RANDOM % 65536)))"
[[ "$run_id" =~ ^[A-Za-z0-9._-]+$ ]] || die "--run-id: letters, digits, . _ - only, got: $run_id"

# --- helpers ------------------------------------------------------------------------------------
# Quote one argument for a shell, readably: bare when it is safe, else in single quotes.
quote() {
    if [[ "$1" =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}
show() {
    local first=1 a
    for a in "$@"; do
        [ "$first" -eq 1 ] || printf ' '
        quote "$a"
        first=0
    done
    printf '\n'
}

region_args=()
[ -z "$region" ] || region_args=(--region "$region")

# --- the user data: shebang, the variable block, then user-data.sh without its shebang; gzipped --
# (cloud-init unpacks gzipped user data itself), so that it fits EC2's 16 KiB.
var_block() {
    local name value
    echo "# --- gpubench fleet configuration (written by launch-fleet.sh) ---"
    for name in BUCKET PREFIX RUN_ID MAX_MINUTES GPUBENCH_BINARY_S3 GPUBENCH_REPO GPUBENCH_GIT_REV \
        WORKLOADS BACKENDS EPOCHS GPUBENCH_ARGS GPUBENCH_SMOKE_GZ64 NODES; do
        case "$name" in
        BUCKET) value="$bucket" ;;
        PREFIX) value="$prefix" ;;
        RUN_ID) value="$run_id" ;;
        MAX_MINUTES) value="$max_minutes" ;;
        GPUBENCH_BINARY_S3) value="$binary_s3" ;;
        GPUBENCH_REPO) value="$repo" ;;
        GPUBENCH_GIT_REV) value="$rev" ;;
        WORKLOADS) value="$workloads" ;;
        BACKENDS) value="$backends" ;;
        EPOCHS) value="$epochs" ;;
        GPUBENCH_ARGS) value="$gpubench_args" ;;
        GPUBENCH_SMOKE_GZ64) value="$(gzip -9c "$SMOKE_SRC" | base64 -w0)" ;;
        NODES) value=""; [ "$nodes" -le 1 ] || value="$nodes" ;;
        esac
        # Unset options stay out, so user-data.sh's own defaults apply.
        [ -z "$value" ] || echo "$name=$(quote "$value")"
    done
    echo "# --- end of configuration ---"
}

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/gpubench-fleet.XXXXXX")"
user_data="$work_dir/user-data-$run_id.sh"
{
    echo '#!/bin/bash'
    var_block
    tail -n +2 "$USER_DATA_SRC"
} >"$user_data"
gzip -9nc "$user_data" >"$user_data.gz"
size=$(wc -c <"$user_data")
gz_size=$(wc -c <"$user_data.gz")
[ "$gz_size" -le "$USER_DATA_LIMIT" ] ||
    die "rendered user data is $gz_size bytes gzipped, over EC2's $USER_DATA_LIMIT"
if [ "$dry_run" -eq 0 ]; then
    trap 'rm -rf "$work_dir"' EXIT
fi

# --- the AMI ------------------------------------------------------------------------------------
ssm_cmd=("$AWS_CLI" ${region_args[@]+"${region_args[@]}"} ssm get-parameter --name "$SSM_AMI_PARAM"
    --query Parameter.Value --output text)
if [ "$dry_run" -eq 1 ]; then
    echo "# dry run: nothing is called. Run $run_id, ${#type_list[@]} instance(s)."
    echo "# user data ($size bytes, $gz_size gzipped) rendered to $user_data; its variable block:"
    var_block | sed 's/^/#   /'
    echo
    if [ -z "$ami" ]; then
        echo "# the AMI:"
        show "${ssm_cmd[@]}"
        ami='<ami-id-from-ssm>'
    fi
elif [ -z "$ami" ]; then
    ami="$("${ssm_cmd[@]}")" || die "could not resolve the AMI from SSM ($SSM_AMI_PARAM); pass --ami"
    [[ "$ami" =~ ^ami-[0-9a-f]+$ ]] || die "SSM answered '$ami' for $SSM_AMI_PARAM, not an AMI id"
    echo "AMI $ami (from $SSM_AMI_PARAM)"
fi

# --- one run-instances per type -----------------------------------------------------------------
ids=()
failures=0
id=""
for t in "${type_list[@]}"; do
    tags="{Key=gpubench-run,Value=$run_id},{Key=gpubench-type,Value=$t},{Key=Name,Value=gpubench-$t}"
    placement=()
    if [ "$nodes" -gt 1 ]; then
        # The nodes of one run side by side: a cluster placement group, one per type and run.
        group="gpubench-$run_id-$t"
        pg_cmd=("$AWS_CLI" ${region_args[@]+"${region_args[@]}"} ec2 create-placement-group
            --group-name "$group" --strategy cluster)
        if [ "$dry_run" -eq 1 ]; then
            show "${pg_cmd[@]}"
        elif ! "${pg_cmd[@]}" >/dev/null; then
            echo "launch-fleet: create-placement-group failed for $t" >&2
            ids+=("FAILED")
            failures=$((failures + 1))
            continue
        fi
        placement=(--placement "GroupName=$group")
    fi
    cmd=("$AWS_CLI" ${region_args[@]+"${region_args[@]}"} ec2 run-instances
        --image-id "$ami"
        --instance-type "$t"
        --count "$nodes"
        --instance-initiated-shutdown-behavior terminate
        --iam-instance-profile "Name=$profile"
        --metadata-options "HttpTokens=required,HttpPutResponseHopLimit=1,HttpEndpoint=enabled"
        --user-data "fileb://$user_data.gz"
        --tag-specifications "ResourceType=instance,Tags=[$tags]" "ResourceType=volume,Tags=[$tags]")
    cmd+=(${placement[@]+"${placement[@]}"})
    [ "$spot" -eq 0 ] || cmd+=(--instance-market-options MarketType=spot)
    [ -z "$key_name" ] || cmd+=(--key-name "$key_name")
    [ -z "$subnet" ] || cmd+=(--subnet-id "$subnet")
    if [ -n "$sgs" ]; then
        IFS=',' read -r -a sg_list <<<"$sgs"
        cmd+=(--security-group-ids "${sg_list[@]}")
    fi
    cmd+=(--query 'Instances[].InstanceId' --output text)
    if [ "$dry_run" -eq 1 ]; then
        echo "# $t:"
        show "${cmd[@]}"
        ids+=("(dry run)")
    elif id="$("${cmd[@]}")" && [[ "$id" == i-* ]]; then
        ids+=("$id")
    else
        echo "launch-fleet: run-instances failed for $t${id:+: $id}" >&2
        ids+=("FAILED")
        failures=$((failures + 1))
    fi
    id=""
done

# --- summary ------------------------------------------------------------------------------------
echo
printf '%-20s %s\n' TYPE INSTANCE_ID
for i in "${!type_list[@]}"; do
    printf '%-20s %s\n' "${type_list[$i]}" "${ids[$i]}"
done
echo
echo "run id:   $run_id  (tag gpubench-run=$run_id)"
echo "results:  s3://$bucket/${prefix:+$prefix/}<instance-type>/$run_id/"
echo "collect:  scripts/aws/collect.sh --bucket $bucket --prefix ${prefix:-''} --run-id $run_id"
echo "check for stragglers (each instance powers off after at most $max_minutes min):"
echo "  $(show "$AWS_CLI" ${region_args[@]+"${region_args[@]}"} ec2 describe-instances --filters "Name=tag:gpubench-run,Values=$run_id" \
    "Name=instance-state-name,Values=pending,running,stopping,stopped" \
    --query 'Reservations[].Instances[].[InstanceId,InstanceType,State.Name]' --output text)"
[ "$failures" -eq 0 ] || { echo "launch-fleet: $failures launch(es) failed" >&2; exit 1; }
