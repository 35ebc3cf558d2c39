#!/usr/bin/env bash
# The long kill test: tests/kill.rs over 20 rounds (CI runs 6) — two `gpubench run`s append to
# one --out while one is SIGKILLed at a random moment and the other SIGTERMed every other round.
# Usage: scripts/kill-test.sh [ROUNDS] [SEED]; the seed of a failing pass is printed to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GPUBENCH_KILL_ROUNDS="${1:-20}"
[ -z "${2:-}" ] || export GPUBENCH_KILL_SEED="$2"
cargo test --release --test kill -- --nocapture
