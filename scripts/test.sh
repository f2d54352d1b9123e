#!/usr/bin/env bash
# Runs every test: the template lint (cfn-lint and sam validate --lint), the supply-chain checks (cargo-deny), the Rust tests (unit and integration; the integration
# tests start moto from .venv and drive the built binary), then the README's local examples
# against scripts/run-local.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template template.yaml --region us-east-1
python scripts/check_template.py
bash scripts/deny.sh
cargo test --all-targets --locked
python3 scripts/check_readme.py
