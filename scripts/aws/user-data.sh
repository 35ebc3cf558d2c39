#!/bin/bash
# gpubench fleet worker: EC2 user data for the AWS Deep Learning Base AMI (Ubuntu).
#
# cloud-init runs this once, as root, at first boot. It
#   1. schedules a backstop shutdown (shutdown -h +MAX_MINUTES) before anything else,
#   2. gets gpubench: a prebuilt binary from S3 (GPUBENCH_BINARY_S3) or `cargo install --git`,
#   3. runs the GPU smoke checks (scripts/gpu-smoke.sh, embedded by launch-fleet.sh), then
#      `gpubench run --instance auto` under a time limit that ends before the backstop.
#      With NODES > 1 the instances of one launch train one run together: the rank is the EC2
#      launch index, rank 0 publishes its address at <run>/coordinator in the bucket, the
#      others wait for it there.
#   4. uploads the CSVs, any pictures and the logs to s3://BUCKET/PREFIX/<instance-type>/<run-id>/
#      (node-<rank>/ below it for a multi-node run), once,
#   5. shuts down; with --instance-initiated-shutdown-behavior terminate that terminates it.
# Steps 4 and 5 also happen when anything fails (trap on EXIT), on SIGTERM and on a spot
# interruption notice (polled from IMDS): gpubench gets one SIGTERM, writes its run as
# `interrupted`, then the upload runs. scripts/aws/README.md says what survives what.
#
# Configuration: launch-fleet.sh prepends `VAR=value` lines to this script. Every variable below
# has a production default and may also come from the environment (tests/fleet.rs does that).
# No secrets belong here: user data is readable by anyone who can describe the instance and by
# every process on it through the metadata service. S3 access comes from the instance profile.
set -Eeuo pipefail
trap '' PIPE # a dead reader (tee, the console) must not kill the script: its writes fail instead

# --- configuration -----------------------------------------------------------------------------
: "${BUCKET:=}"                          # S3 bucket for results (required)
: "${PREFIX:=gpubench}"                  # key prefix inside the bucket
: "${RUN_ID:=}"                          # fleet run id (launch-fleet.sh sets it); default: time + hostname
: "${MAX_MINUTES:=90}"                   # backstop: the machine powers off after this many minutes
: "${GPUBENCH_BINARY_S3:=}"              # s3://... of a prebuilt gpubench (glibc <= the AMI's); empty: build
: "${GPUBENCH_REPO:=}"                   # git repository for cargo install (when no binary is given)
: "${GPUBENCH_GIT_REV:=}"                # commit/tag/branch for cargo install --rev; empty: default branch
: "${GPUBENCH_INSTANCE:=auto}"           # --instance for gpubench run
: "${WORKLOADS:=keypoints,turtle}"       # --workload
: "${BACKENDS:=}"                        # --backend; empty: gpubench's default (all)
: "${EPOCHS:=3}"                         # --epochs
: "${GPUBENCH_ARGS:=}"                   # more arguments for gpubench run, split on spaces
: "${GPUBENCH_SMOKE_GZ64:=}"             # scripts/gpu-smoke.sh, gzip + base64; empty: no smoke checks
: "${NODES:=1}"                          # instances training one run together (launch-fleet --nodes)
: "${COORDINATOR_PORT:=29500}"           # rank 0's coordinator port; data ports follow it
: "${GPUBENCH_AWS_IMDS_URL:=http://169.254.169.254}"  # IMDS base URL, also read by gpubench
: "${SPOT_POLL_SECONDS:=5}"              # how often to ask IMDS for a spot interruption notice; 0: never
: "${GPUBENCH_TIMEOUT_S:=}"              # time limit of `gpubench run`; empty: until 3 min before the backstop
: "${STOP_GRACE_S:=60}"                  # after its SIGTERM a job may take this long, then it is killed
: "${S3_ENDPOINT_URL:=}"                 # non-empty: --endpoint-url for every aws call (tests)
: "${LOG_FILE:=/var/log/gpubench-user-data.log}"
: "${CLOUD_INIT_LOG:=/var/log/cloud-init-output.log}"
: "${WORK_DIR:=/opt/gpubench}"

# --- 1. backstop, first of all -----------------------------------------------------------------
case "$MAX_MINUTES" in '' | *[!0-9]*) MAX_MINUTES=90 ;; esac
case "$SPOT_POLL_SECONDS" in '' | *[!0-9]*) SPOT_POLL_SECONDS=5 ;; esac
case "$STOP_GRACE_S" in '' | *[!0-9]*) STOP_GRACE_S=60 ;; esac
case "$GPUBENCH_TIMEOUT_S" in *[!0-9]* | 0) GPUBENCH_TIMEOUT_S="" ;; esac
shutdown -h "+$MAX_MINUTES" || echo "gpubench: WARNING: could not schedule the backstop shutdown" >&2

# --- logging: from the trap on, everything goes to the console (cloud-init's log) and LOG_FILE --
exec 3>&1 4>&2 # the console, kept for the end
TEE_PID=""
LOG_DIRECT=0   # 1: no tee (gone, or the end): log() writes to the console and LOG_FILE itself
CHILD_PID=""   # the background job the script waits for (cargo, gpubench), under `timeout`
CHILD_NAME=""
STOP_REASON="" # set by the first SIGTERM/INT/HUP or spot notice
WAIT_BROKEN=0  # a trap interrupted `wait`
SPOT_PID=""    # the spot notice watcher
FINISHED=0
MAIN_PID=$$
INSTANCE_TYPE=unknown-instance-type
NODE_DIR="" # node-<rank>/ under the run's folder, for a multi-node run
[ -n "$RUN_ID" ] || RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-${HOSTNAME:-host}"
OUT_DIR="$WORK_DIR/out"
GPUBENCH="$WORK_DIR/bin/gpubench"
ENDPOINT_ARGS=()
[ -z "$S3_ENDPOINT_URL" ] || ENDPOINT_ARGS=(--endpoint-url "$S3_ENDPOINT_URL")
GPUBENCH_AWS_IMDS_URL="${GPUBENCH_AWS_IMDS_URL%/}"
export GPUBENCH_AWS_IMDS_URL
# The AWS CLI fetches the instance profile's credentials from the same metadata service.
export AWS_EC2_METADATA_SERVICE_ENDPOINT="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-$GPUBENCH_AWS_IMDS_URL/}"
export HOME="${HOME:-/root}"
export DEBIAN_FRONTEND=noninteractive

log() {
    local line
    line="[gpubench $(date -u +%H:%M:%S)] $*"
    if [ "$LOG_DIRECT" -eq 0 ]; then
        printf '%s\n' "$line" 2>/dev/null && return 0
        LOG_DIRECT=1 # tee died: from here on the console and LOG_FILE directly
        exec 1>&3 2>&4
    fi
    printf '%s\n' "$line" >>"$LOG_FILE" 2>/dev/null || true
    printf '%s\n' "$line" >&3 2>/dev/null || true
}
awscli() { aws "${ENDPOINT_ARGS[@]}" "$@"; }

# Seconds a job may still run: until STOP_GRACE_S and 2 min for the upload before the backstop.
time_left() {
    local s=$((MAX_MINUTES * 60 - SECONDS - STOP_GRACE_S - 120))
    echo $((s < 60 ? 60 : s))
}

# Runs `$2..` (named $1) in the background under `timeout` and waits for it, so that a signal
# is acted on at once, not when the job ends. Returns its status (124: out of time).
run_bg() {
    local rc last="" limit=$1
    CHILD_NAME=$2
    shift 2
    timeout --foreground --kill-after="$STOP_GRACE_S" "$limit" "$@" &
    CHILD_PID=$!
    while :; do
        WAIT_BROKEN=0
        rc=0
        wait "$CHILD_PID" || rc=$?
        [ "$WAIT_BROKEN" -eq 1 ] || break
        last=$rc
    done
    # 127: the trap came just after the job ended, and the first wait had its status
    if [ "$rc" -eq 127 ] && [ -n "$last" ]; then rc=$last; fi
    CHILD_PID=""
    if [ -n "$STOP_REASON" ] && [ "$rc" -eq 0 ]; then rc=143; fi
    return "$rc"
}

# SIGTERM, SIGINT, SIGHUP and the spot notice: the job gets one SIGTERM (gpubench then ends its
# run as `interrupted`, and `timeout` kills it STOP_GRACE_S later if need be) and run_bg returns
# when it is gone; with no job the script exits now. finish() uploads either way, once.
stop() {
    WAIT_BROKEN=1
    if [ -n "$STOP_REASON" ]; then
        log "$1 (already stopping: $STOP_REASON)"
        return 0
    fi
    STOP_REASON="$1"
    if [ -n "$CHILD_PID" ] && kill -0 "$CHILD_PID" 2>/dev/null; then
        log "$1: SIGTERM to $CHILD_NAME, then upload"
        kill -TERM "$CHILD_PID" 2>/dev/null || true
    else
        log "$1: stopping"
        exit 143
    fi
}

imds_token() {
    curl -fsS --max-time 2 --retry 5 --retry-max-time 20 --retry-connrefused -X PUT \
        -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" "$GPUBENCH_AWS_IMDS_URL/latest/api/token"
}

# In the background: asks IMDS every SPOT_POLL_SECONDS for the spot interruption notice (404
# until EC2 is 2 minutes from taking the instance back), then tells the script with SIGUSR1.
spot_watch() {
    trap - EXIT ERR TERM INT HUP USR1
    set +e
    local code token="$IMDS_TOKEN" notice="$WORK_DIR/spot-instance-action.json"
    while :; do
        code=$(curl -s --max-time 2 -o "$notice.part" -w '%{http_code}' -H "X-aws-ec2-metadata-token: $token" \
            "$GPUBENCH_AWS_IMDS_URL/latest/meta-data/spot/instance-action")
        case "$code" in
        200) mv -f "$notice.part" "$notice" && kill -USR1 "$MAIN_PID"; return ;;
        401) token=$(imds_token) ;;
        esac
        sleep "$SPOT_POLL_SECONDS"
    done
}

# --- 4. and 5.: upload whatever exists, then power off; runs on every exit -----------------------
finish() {
    local rc=$? failed=0 dest
    trap - EXIT ERR
    trap '' TERM INT HUP USR1 # nothing cuts the upload short; the aws calls inherit this
    set +e
    [ "$FINISHED" -eq 0 ] || exit "$rc"
    FINISHED=1
    [ -z "$SPOT_PID" ] || kill "$SPOT_PID" 2>/dev/null
    if [ -n "$TEE_PID" ]; then
        # Close the pipe to tee and let it drain, so LOG_FILE is complete before it is uploaded;
        # from here on log() writes to the console and LOG_FILE itself.
        exec 1>&3 2>&4
        for _ in $(seq 50); do kill -0 "$TEE_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    LOG_DIRECT=1
    log "finished with exit status $rc${STOP_REASON:+ (stopped by $STOP_REASON)}; uploading results and logs"
    dest="s3://$BUCKET/${PREFIX:+${PREFIX%/}/}$INSTANCE_TYPE/$RUN_ID$NODE_DIR"
    mkdir -p "$WORK_DIR"
    printf 'exit_status=%s\ninstance_type=%s\nrun_id=%s\nfinished_at=%s\nstopped_by=%s\n' "$rc" "$INSTANCE_TYPE" \
        "$RUN_ID" "$(date -u +%FT%TZ)" "${STOP_REASON//$'\n'/ }" >"$WORK_DIR/status.txt"
    if [ -z "$BUCKET" ]; then
        log "BUCKET is not set: nothing uploaded"
        failed=1
    else
        if [ -d "$OUT_DIR" ]; then
            awscli s3 cp --only-show-errors --recursive "$OUT_DIR" "$dest" \
                --exclude '*' --include '*.csv' --include '*.png' --include '*.svg' || failed=1
        fi
        awscli s3 cp --only-show-errors "$WORK_DIR/status.txt" "$dest/status.txt" || failed=1
        for f in gpu-smoke.txt spot-instance-action.json; do
            [ ! -r "$WORK_DIR/$f" ] || awscli s3 cp --only-show-errors "$WORK_DIR/$f" "$dest/$f" || failed=1
        done
        if [ -r "$LOG_FILE" ]; then
            awscli s3 cp --only-show-errors "$LOG_FILE" "$dest/gpubench-user-data.log" || failed=1
        fi
        if [ -r "$CLOUD_INIT_LOG" ]; then
            awscli s3 cp --only-show-errors "$CLOUD_INIT_LOG" "$dest/cloud-init-output.log" || failed=1
        fi
        [ "$failed" -ne 0 ] || log "uploaded to $dest/"
    fi
    [ "$failed" -eq 0 ] || log "WARNING: some uploads failed"
    log "shutting down now"
    shutdown -h now
    if [ "$rc" -eq 0 ] && [ "$failed" -ne 0 ]; then rc=1; fi
    exit "$rc"
}
trap finish EXIT
trap 'log "FAILED (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'stop SIGTERM' TERM
trap 'stop SIGINT' INT
trap 'stop SIGHUP' HUP
trap 'stop "spot interruption notice $(cat "$WORK_DIR/spot-instance-action.json" 2>/dev/null)"' USR1

mkdir -p "$(dirname "$LOG_FILE")" "$WORK_DIR"
# tee ignores the signals that stop the script, so LOG_FILE outlives them; -p: a dead console
# does not stop it writing LOG_FILE.
exec > >(trap '' TERM INT HUP; exec tee -p -a "$LOG_FILE" >&3) 2>&1
TEE_PID=$!
log "backstop shutdown scheduled in $MAX_MINUTES min; log file $LOG_FILE"
: "${BUCKET:?BUCKET must name the S3 bucket for results}"

# --- where are we: IMDSv2 only (token first) -----------------------------------------------------
IMDS_TOKEN=$(imds_token)
imds() {
    curl -fsS --max-time 2 --retry 5 --retry-max-time 20 --retry-connrefused \
        -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$GPUBENCH_AWS_IMDS_URL/latest/meta-data/$1"
}
INSTANCE_TYPE=$(imds instance-type)
REGION=$(imds placement/region)
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$REGION}"
case "$NODES" in '' | *[!0-9]* | 0) log "NODES must be a positive whole number, got '$NODES'"; exit 2 ;; esac
NODE_RANK=0
if [ "$NODES" -gt 1 ]; then
    NODE_RANK=$(imds ami-launch-index)
    NODE_DIR="/node-$NODE_RANK"
fi
log "instance $INSTANCE_TYPE in $REGION, run $RUN_ID, node $NODE_RANK of $NODES"
if [ "$SPOT_POLL_SECONDS" -gt 0 ]; then
    spot_watch </dev/null >/dev/null 2>&1 &
    SPOT_PID=$!
fi

# --- 2. gpubench --------------------------------------------------------------------------------
if ! command -v aws >/dev/null; then
    log "installing the AWS CLI"
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q awscli
fi
if [ -d /usr/local/cuda/bin ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi # nvcc, for a build
mkdir -p "$WORK_DIR/bin" "$OUT_DIR"
if [ -n "$GPUBENCH_BINARY_S3" ]; then
    log "fetching gpubench from $GPUBENCH_BINARY_S3"
    awscli s3 cp --only-show-errors "$GPUBENCH_BINARY_S3" "$GPUBENCH"
    chmod 755 "$GPUBENCH"
elif [ -z "$GPUBENCH_REPO" ]; then
    log "neither GPUBENCH_BINARY_S3 nor GPUBENCH_REPO is set: no way to get gpubench"
    exit 2
else
    log "building gpubench from $GPUBENCH_REPO ${GPUBENCH_GIT_REV:-(default branch)}"
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q build-essential pkg-config git curl ca-certificates
    export RUSTUP_HOME="$WORK_DIR/rustup" CARGO_HOME="$WORK_DIR/cargo"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --no-modify-path
    rev_args=()
    [ -z "$GPUBENCH_GIT_REV" ] || rev_args=(--rev "$GPUBENCH_GIT_REV")
    run_bg "$(time_left)" cargo \
        "$CARGO_HOME/bin/cargo" install --locked --git "$GPUBENCH_REPO" "${rev_args[@]}" --root "$WORK_DIR" gpubench
fi

# --- 3. the benchmark ---------------------------------------------------------------------------
# The Deep Learning AMIs keep the toolkit in /usr/local/cuda without exporting it: burn's CUDA
# kernels need its headers (CUDA_PATH) and its NVRTC (the library path).
if [ -z "${CUDA_PATH:-}" ] && [ -d /usr/local/cuda ]; then export CUDA_PATH=/usr/local/cuda; fi
if [ -n "${CUDA_PATH:-}" ] && [ -d "$CUDA_PATH/lib64" ]; then
    export LD_LIBRARY_PATH="$CUDA_PATH/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if command -v nvidia-smi >/dev/null; then nvidia-smi || true; fi
"$GPUBENCH" --version
if [ -n "$GPUBENCH_SMOKE_GZ64" ]; then
    # Each check's PASS or FAIL goes to the log and to S3; a failure is recorded, and the
    # benchmark still runs (its rows say why a backend could not).
    base64 -d <<<"$GPUBENCH_SMOKE_GZ64" | gunzip >"$WORK_DIR/gpu-smoke.sh"
    log "GPU smoke checks"
    if bash "$WORK_DIR/gpu-smoke.sh" --gpubench "$GPUBENCH" --out "$WORK_DIR/smoke" \
        | tee "$WORK_DIR/gpu-smoke.txt"; then
        log "GPU smoke checks passed"
    else
        log "WARNING: GPU smoke checks failed (gpu-smoke.txt); benchmarking anyway"
    fi
else
    "$GPUBENCH" probe || true
fi
run_args=(run --instance "$GPUBENCH_INSTANCE" --workload "$WORKLOADS" --epochs "$EPOCHS" --out "$OUT_DIR")
[ -z "$BACKENDS" ] || run_args+=(--backend "$BACKENDS")
if [ "$NODES" -gt 1 ]; then
    rendezvous="s3://$BUCKET/${PREFIX:+${PREFIX%/}/}$INSTANCE_TYPE/$RUN_ID/coordinator"
    coordinator=""
    if [ "$NODE_RANK" -eq 0 ]; then
        coordinator="$(imds local-ipv4):$COORDINATOR_PORT"
        printf '%s\n' "$coordinator" | awscli s3 cp --only-show-errors - "$rendezvous"
        log "coordinator $coordinator published at $rendezvous"
    else
        for _ in $(seq 120); do
            coordinator=$(awscli s3 cp --only-show-errors "$rendezvous" - 2>/dev/null) && break
            sleep 5
        done
        [ -n "$coordinator" ] || { log "no coordinator at $rendezvous after 10 minutes"; exit 1; }
        log "coordinator $coordinator (from $rendezvous)"
    fi
    run_args+=(--nodes "$NODES" --node-rank "$NODE_RANK" --coordinator "$coordinator" --run-id "$RUN_ID")
fi
read -r -a extra_args <<<"$GPUBENCH_ARGS"
limit=${GPUBENCH_TIMEOUT_S:-$(time_left)}
log "gpubench ${run_args[*]} ${extra_args[*]} (time limit ${limit} s)"
rc=0
run_bg "$limit" gpubench "$GPUBENCH" "${run_args[@]}" "${extra_args[@]}" || rc=$?
if [ "$rc" -eq 124 ] && [ -z "$STOP_REASON" ]; then STOP_REASON="the time limit of ${limit} s"; fi
[ "$rc" -eq 0 ] || exit "$rc"
log "benchmark done"
