#!/usr/bin/env bash
# Runs wa-dispatch locally on the embedded default: the provider simulator on
# 127.0.0.1:9100 as every provider (it also posts Meta's signed status webhooks for the
# template sim_delivery, and plays the status bus, printing each event), local/secrets.json
# instead of Secrets Manager, statuses kept in memory, and the function under
# `cargo lambda watch` on port 9000. No AWS account, no real provider.
set -euo pipefail
cd "$(dirname "$0")/.."
sim_addr="${SIMULATOR_ADDR:-127.0.0.1:9100}"
port="${INVOKE_PORT:-9000}"
echo "wa-dispatch local run: the simulator on $sim_addr, the function on 127.0.0.1:$port."
echo "The first run installs cargo-lambda and builds the simulator and the function: about 5 to 10 minutes; later runs start in seconds."
echo "[1/3] cargo-lambda in .venv"
bash scripts/setup.sh run
export PATH="$PWD/.venv/bin:$PATH"
echo "[2/3] building and starting the provider simulator (cargo build --example simulator)"
cargo build --locked --example simulator
SIM_META_WEBHOOK_URL="http://127.0.0.1:$port/lambda-url/wa-dispatch/v1/webhooks/meta" \
  SIM_META_APP_SECRET=local-meta-app-secret \
  target/debug/examples/simulator "$sim_addr" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT INT TERM
exec_env="PROVIDER_SECRETS_FILE=$PWD/local/secrets.json"
exec_env+=",BITBYBIT_BASE_URL=http://$sim_addr/bitbybit,AUTOCALLS_BASE_URL=http://$sim_addr/autocalls"
exec_env+=",META_BASE_URL=http://$sim_addr/meta/v25.0"
exec_env+=",STATUS_TABLE=memory,STATUS_EVENT_BUS=local-status-bus,AWS_ENDPOINT_URL_EVENTBRIDGE=http://$sim_addr/eventbridge"
exec_env+=",AWS_ACCESS_KEY_ID=local,AWS_SECRET_ACCESS_KEY=local"
exec_env+=",LOG_FORMAT=${LOG_FORMAT:-text},AWS_REGION=us-east-1"
echo "[3/3] serving the function with cargo lambda watch on 127.0.0.1:$port: it is built on the first request, which waits for the build (a few minutes the first time)"
echo "      try: curl -s http://localhost:$port/lambda-url/wa-dispatch/v1/health"
cargo lambda watch --locked --invoke-address 127.0.0.1 --invoke-port "$port" --env-vars "$exec_env"
