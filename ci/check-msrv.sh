#!/usr/bin/env bash
# How the declared rust-version is checked without that toolchain (see
# docs/supply-chain.md, "Minimum supported Rust version"):
#  1. clippy's `incompatible_msrv` lint (on by default, denied by the clippy
#     step of .ci/run) rejects standard-library APIs newer than the
#     rust-version each crate declares. This script shows the lint is live on
#     the installed toolchain: a throw-away crate declaring our rust-version
#     and calling an API stabilized after it must fail clippy.
#  2. Nothing turns the lint off or overrides the MSRV clippy reads.
#  3. No package in Cargo.lock declares a rust-version above ours.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[ -n "$msrv" ] || { echo "no rust-version in [workspace.package] of Cargo.toml" >&2; exit 1; }
echo "declared rust-version: $msrv; toolchain: $(rustc --version)"

# 2. No opt-out.
if grep -rnE 'incompatible_msrv|clippy::msrv|^msrv *=' --include='*.rs' --include='*.toml' \
    --exclude-dir=target --exclude-dir=node_modules . | grep -v '^./ci/'; then
  echo "the lines above switch off or override the MSRV check: remove them" >&2
  exit 1
fi

# 3. Dependencies' own rust-version (registry packages; all targets).
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
msrv = sys.argv[1]
def key(v):
    parts = [int(p) for p in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
meta = json.load(sys.stdin)
used = {n["id"] for n in meta["resolve"]["nodes"]}
over = sorted((p["name"], p["version"], p["rust_version"]) for p in meta["packages"]
              if p["id"] in used and p.get("rust_version") and key(p["rust_version"]) > key(msrv))
unknown = sum(1 for p in meta["packages"] if p["id"] in used and not p.get("rust_version"))
for name, version, rv in over:
    print(f"{name} {version} needs Rust {rv}, above our rust-version {msrv}: raise ours or keep the older version", file=sys.stderr)
if over:
    sys.exit(1)
newest = max((key(p["rust_version"]), p["rust_version"]) for p in meta["packages"]
             if p["id"] in used and p.get("rust_version"))[1]
print(f"dependencies: newest declared rust-version {newest}; {unknown} packages declare none")
' "$msrv"

# 1. The lint is live. File::lock is stable since 1.89.
if [ "$(printf '%s\n' "$msrv" 1.89 | sort -V | head -n 1)" != "$msrv" ] || [ "$msrv" = 1.89 ]; then
  echo "rust-version $msrv is not below 1.89: pick a newer API for the probe in ci/check-msrv.sh" >&2
  exit 1
fi
probe="$(mktemp -d "${TMPDIR:-/tmp}/smartid-msrv-probe.XXXXXX")"
trap 'rm -rf "$probe"' EXIT
mkdir -p "$probe/src"
cat >"$probe/Cargo.toml" <<TOML
[package]
name = "msrv-probe"
version = "0.0.0"
edition = "2024"
rust-version = "$msrv"
publish = false

[workspace]
TOML
cat >"$probe/src/lib.rs" <<'RS'
//! Calls an API stabilized after the declared rust-version.
/// Locks a file (`File::lock`, Rust 1.89).
pub fn probe(file: &std::fs::File) -> std::io::Result<()> {
    file.lock()
}
RS
if out="$(cd "$probe" && CARGO_TARGET_DIR="$probe/target" cargo clippy --quiet -- -D warnings 2>&1)"; then
  echo "clippy accepted File::lock (Rust 1.89) in a crate declaring rust-version $msrv:" >&2
  echo "the incompatible_msrv lint does not check rust-version on this toolchain" >&2
  exit 1
fi
if ! grep -q 'incompatible.msrv' <<<"$out"; then
  echo "the probe failed clippy for another reason:" >&2
  echo "$out" >&2
  exit 1
fi
echo "msrv ok: clippy's incompatible_msrv lint rejects APIs newer than $msrv"
