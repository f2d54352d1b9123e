#!/usr/bin/env bash
# Runs every test: the template lint, then the Rust tests (unit and integration; the
# integration tests start moto from .venv and drive the built binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
cfn-lint template.yaml
cargo test --all-targets
