#!/usr/bin/env bash
# The long property pass over every parser of user input (the Kaggle reader, YOLO labels,
# labels.csv, the report's CSV loader, the catalog TOML): arbitrary bytes and mutations of the
# seeds in tests/fixtures/fuzz/ must give rows or a clean error, never a panic. CI runs 256
# cases per parser; this runs CASES (default 200000) each. A failure is shrunk to its smallest
# input and saved under proptest-regressions/ (commit it: it is replayed on every run after).
# Usage: scripts/fuzz.sh [CASES]
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${1:-200000}"
start=$(date +%s)
cargo test --release --lib fuzz_ -- --test-threads "$(nproc)"
echo "fuzz: $PROPTEST_CASES cases per parser, 5 parsers, $(( ($(date +%s) - start) / 60 )) min, no failures"
