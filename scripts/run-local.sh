#!/usr/bin/env bash
# Runs wa-dispatch locally on the embedded default: the provider simulator on
# 127.0.0.1:9100 as every provider, local/secrets.json instead of Secrets Manager, and the
# function under `cargo lambda watch` on port 9000. No AWS account, no real provider.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
sim_addr="${SIMULATOR_ADDR:-127.0.0.1:9100}"
cargo build --quiet --locked --example simulator
target/debug/examples/simulator "$sim_addr" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT INT TERM
exec_env="PROVIDER_SECRETS_FILE=$PWD/local/secrets.json"
exec_env+=",BITBYBIT_BASE_URL=http://$sim_addr/bitbybit,AUTOCALLS_BASE_URL=http://$sim_addr/autocalls"
exec_env+=",META_BASE_URL=http://$sim_addr/meta/v25.0"
exec_env+=",LOG_FORMAT=${LOG_FORMAT:-text},AWS_REGION=us-east-1"
cargo lambda watch --locked --invoke-address 127.0.0.1 --invoke-port "${INVOKE_PORT:-9000}" --env-vars "$exec_env"
