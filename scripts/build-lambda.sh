#!/usr/bin/env bash
# Builds the deployable arm64 artifact with cargo-lambda (zig from PyPI cross-compiles)
# and prints its size.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
cargo lambda build --release --arm64 --locked --bin wa-dispatch
artifact=target/lambda/wa-dispatch/bootstrap
echo "artifact: $artifact $(stat -c %s "$artifact") bytes ($(du -h "$artifact" | cut -f1))"
