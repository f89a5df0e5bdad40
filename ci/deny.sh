#!/usr/bin/env bash
# cargo deny check (advisories, licenses, bans, sources) without network:
# advisories come from the RustSec snapshot in ../shared/advisory-db (beside
# the clone). With network, `cargo deny check` alone uses the live database
# (docs/supply-chain.md).
#
# cargo-deny wants the database as a git repository named after its URL's
# hash under db-path: advisory-db-3157b0e258782691 for the default
# https://github.com/rustsec/advisory-db. The snapshot is copied there and
# committed; db-path is given through a copy of deny.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
deny_version="0.20.2"
snapshot="${SMARTID_ADVISORY_DB:-$(dirname "$root")/shared/advisory-db}"

if ! cargo deny --version 2>/dev/null | grep -qF "$deny_version"; then
  echo "installing cargo-deny $deny_version (a few minutes)"
  cargo install cargo-deny --version "$deny_version" --locked
fi
if [ ! -d "$snapshot/crates" ]; then
  echo "no RustSec snapshot at $snapshot (set SMARTID_ADVISORY_DB to its directory)" >&2
  exit 1
fi
[ -f "$snapshot/SNAPSHOT" ] && head -n 1 "$snapshot/SNAPSHOT"

work="$(mktemp -d "${TMPDIR:-/tmp}/smartid-deny.XXXXXX")"
trap 'rm -rf "$work"' EXIT
db="$work/advisory-dbs/advisory-db-3157b0e258782691"
mkdir -p "$db"
cp -R "$snapshot"/. "$db"/
chmod -R u+w "$db"
(
  cd "$db"
  git init -q -b main
  git add -A
  git -c user.name=ci -c user.email=ci@localhost -c commit.gpgsign=false \
    commit -q -m "RustSec advisory database snapshot"
)

# db-path only in the copy: deny.toml itself stays usable with network.
config="$work/deny.toml"
{
  cat deny.toml
} | awk -v db="$work/advisory-dbs" '
  /^\[advisories\]/ { print; print "db-path = \"" db "\""; next }
  /^db-path *=/ { next }
  { print }' >"$config"

# Metadata for every target must be local for --offline.
cargo fetch --locked
cargo deny --offline --log-level warn check --config "$config" --show-stats \
  advisories licenses bans sources
