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
# --workspace: every member, not only the root package.
cargo deny --offline --locked --workspace --log-level warn --config "$config" \
  check --show-stats --hide-inclusion-graph advisories licenses bans sources

# ...and the advisory check can fail: with one more advisory in the
# database, against a crate every member uses, it must report it (so the
# snapshot is really the database read, not an empty or missing one).
mkdir -p "$db/crates/zeroize"
cat >"$db/crates/zeroize/RUSTSEC-0000-9999.md" <<'MD'
```toml
[advisory]
id = "RUSTSEC-0000-9999"
package = "zeroize"
date = "2026-01-01"

[versions]
patched = [">= 9999.0.0"]
```

# Self-test of ci/deny.sh

Not a real advisory: every version of zeroize is "affected".
MD
(
  cd "$db"
  git add -A
  git -c user.name=ci -c user.email=ci@localhost -c commit.gpgsign=false \
    commit -q -m "self-test advisory"
)
if out="$(cargo deny --offline --locked --workspace --log-level warn --config "$config" \
    check --hide-inclusion-graph advisories 2>&1)"; then
  echo "cargo deny accepted a database with an advisory against zeroize: is db-path read?" >&2
  exit 1
fi
if ! grep -q "RUSTSEC-0000-9999" <<<"$out"; then
  echo "cargo deny failed the self-test for another reason:" >&2
  echo "$out" >&2
  exit 1
fi
echo "deny ok (and a planted advisory is reported)"
