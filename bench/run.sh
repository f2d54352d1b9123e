#!/usr/bin/env bash
# The benchmark, in one command: builds the release binary of wa-dispatch, the floor (a
# minimal lambda_runtime function with the same SDK and HTTP clients) and the runner, then
# prints every figure beside the floor's. See the README's Performance section.
#
#   bash bench/run.sh              # cold starts: 20 of each; warm sends: 1,000 of each kind
#   RUNS=50 SENDS=5000 bash bench/run.sh
#   REDACT_RUNS=15 bash bench/run.sh   # runs of the redaction benchmark (default 7)
#   BENCH_ARM64=1 bash bench/run.sh  # also builds the arm64 Lambda artifact first (slow)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${BENCH_ARM64:-0}" == 1 ]]; then
  bash scripts/build-lambda.sh
fi
cargo build --quiet --locked --release --bin wa-dispatch --example floor --example bench
echo "wa-dispatch $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores), $(uname -sr)"
echo
target/release/examples/bench --runs "${RUNS:-20}" --sends "${SENDS:-1000}"
echo
# Redaction of a provider's text at its largest (1 MiB against 100 values of 1 KiB).
cargo run --quiet --locked --release --example redact -- --runs "${REDACT_RUNS:-7}"
