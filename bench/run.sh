#!/usr/bin/env bash
# The benchmark, in one command: builds the release binary of wa-dispatch, the floors
# (minimal lambda_runtime functions with the same SDK and HTTP clients: echo, send, webhook)
# and the runner, then prints every figure beside a floor's: cold and warm sends, keyed
# sends, verified webhooks of 1 and 100 statuses, throughput, redaction. See
# docs/performance.md.
#
#   bash bench/run.sh              # cold starts: 20 of each; warm sends: 1,000 of each kind
#   RUNS=50 SENDS=5000 bash bench/run.sh
#   PACED_SENDS=1000 bash bench/run.sh # keyed sends on a schedule, at once and paced (default 500)
#   REDACT_RUNS=15 bash bench/run.sh   # runs of the redaction benchmark (default 7)
#   BENCH_ARM64=1 bash bench/run.sh  # also builds the arm64 Lambda artifact first (slow)
#   CARGO_TARGET_DIR=/tmp/t bash bench/run.sh   # builds and measures there
#   BENCH_FUNCTION=/path/to/wa-dispatch bash bench/run.sh   # measures that binary instead
#   # Two binaries alternately (before, then this build or BENCH_FUNCTION, in each round):
#   BENCH_COMPARE=/path/to/old/wa-dispatch ROUNDS=7 RUNS=10 SENDS=1000 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if [[ "${BENCH_ARM64:-0}" == 1 ]]; then
  bash scripts/build-lambda.sh
fi
# The binary alone, as deployed (`cargo lambda build --bin wa-dispatch`), then the floor and
# the runner: built in one invocation with the examples, the binary would get the
# dev-dependencies' features too (the tests' echo provider, tokio's test-util, ...): 5% more
# bytes than the deployed one.
cargo build --quiet --locked --release --bin wa-dispatch
cargo build --quiet --locked --release --example floor --example bench
function="${BENCH_FUNCTION:-$target/release/wa-dispatch}"
echo "wa-dispatch $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores), $(uname -sr)"
if [[ -n "${BENCH_FUNCTION:-}" ]]; then
  echo "measured: $function"
fi
echo
if [[ -n "${BENCH_COMPARE:-}" ]]; then
  "$target/release/examples/bench" --compare "$BENCH_COMPARE" --function "$function" \
    --rounds "${ROUNDS:-7}" --runs "${RUNS:-10}" --sends "${SENDS:-1000}"
  exit
fi
"$target/release/examples/bench" --function "$function" --floor "$target/release/examples/floor" \
  --arm64 "$target/lambda/wa-dispatch/bootstrap" \
  --runs "${RUNS:-20}" --sends "${SENDS:-1000}" --paced-sends "${PACED_SENDS:-500}"
echo
# Redaction of a provider's text at its largest (1 MiB against 100 values of 1 KiB).
cargo run --quiet --locked --release --example redact -- --runs "${REDACT_RUNS:-7}"
