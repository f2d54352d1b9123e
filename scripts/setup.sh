#!/usr/bin/env bash
# Makes the project-local Python venv (.venv) the tests use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat scripts/requirements.txt scripts/constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check \
    -r scripts/requirements.txt -c scripts/constraints.txt
  echo "$want" > "$stamp"
fi
