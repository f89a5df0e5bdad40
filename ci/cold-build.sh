#!/usr/bin/env bash
# The cold-build row of docs/performance.md: a new crate that depends only
# on audkenni-ciba, and one that depends only on openidconnect 4 with
# reqwest and rustls, each built with `cargo build` and a fresh target
# directory, in the order given, timed; packages and build units counted.
#
#   ci/cold-build.sh ours peer peer ours          # ABBA, the doc's rounds
#   OURS_FEATURES='"ring", "pkcs12"' ci/cold-build.sh ours
#
# The registry must hold the crates already (run once with network, or
# after a build of the workspace); nothing here is run by CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${COLD_BUILD_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cold-build.XXXXXX")}"
features="${OURS_FEATURES:-\"ring\"}"
mkdir -p "$work/ours/src" "$work/peer/src"
cat > "$work/ours/Cargo.toml" <<TOML
[package]
name = "cold-ours"
version = "0.1.0"
edition = "2024"

[dependencies]
audkenni-ciba = { path = "$root/crates/audkenni-ciba", default-features = false, features = [$features] }

[workspace]
TOML
cat > "$work/ours/src/main.rs" <<'RS'
fn main() {
    let builder = audkenni_ciba::CibaClient::builder("https://idp.example", "rp");
    println!("{builder:?}");
}
RS
cat > "$work/peer/Cargo.toml" <<'TOML'
[package]
name = "cold-peer"
version = "0.1.0"
edition = "2024"

[dependencies]
openidconnect = { version = "4", default-features = false, features = ["reqwest", "rustls-tls"] }

[workspace]
TOML
cat > "$work/peer/src/main.rs" <<'RS'
fn main() {
    let issuer = openidconnect::IssuerUrl::new("https://idp.example".to_owned()).unwrap();
    println!("{issuer:?}");
}
RS
for side in ours peer; do
  [ -f "$work/$side/Cargo.lock" ] || (cd "$work/$side" && cargo generate-lockfile --offline -q)
done
for side in "$@"; do
  case "$side" in ours|peer) ;; *) echo "sides are ours and peer, not '$side'" >&2; exit 2 ;; esac
  target="$work/target-$side"
  rm -rf "$target"
  start=$(date +%s%N)
  (cd "$work/$side" && CARGO_TARGET_DIR="$target" cargo build --offline -q)
  end=$(date +%s%N)
  units=$(find "$target/debug/.fingerprint" -mindepth 1 -maxdepth 1 | wc -l)
  packages=$(cd "$work/$side" && cargo tree --offline -e normal,build --prefix none \
    | sed 's/ (\*)$//' | sort -u | wc -l)
  awk -v s="$side" -v ns="$((end - start))" -v p="$packages" -v u="$units" \
    -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "%s %.1f s, %d packages, %d build units, load %s\n", s, ns / 1e9, p, u, l }'
  rm -rf "$target"
done
