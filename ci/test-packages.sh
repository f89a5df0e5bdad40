#!/usr/bin/env bash
# Runs the tests of each crate from its unpacked package: what a user (or
# crater) gets from `cargo package`/the registry, not the workspace checkout.
#
# Run after `cargo package --workspace` (which writes
# $CARGO_TARGET_DIR/package/<crate>-<version>.crate). Our crates are not
# published, so each dependency of one of ours on another is patched to the
# other's *unpacked package* (never resolved from the registry). The test
# binaries share the workspace's target directory, so dependencies compiled
# for the workspace's own test run are reused.
#
# Environment: DATABASE_URL, java/javac and node/npm are used exactly as in
# the workspace run (tests skip or fail the same way). SMARTID_PACKAGE_TESTS
# selects what runs: "all" (default: what `cargo test` runs, doctests
# included, each package alone), "lib-tests" (--lib --tests: no doctests,
# each package alone), "isolated" (as lib-tests without the replica test
# targets, tests/replica*.rs, the slowest, which the workspace run has just
# run from the same sources), "quick" (what isolated runs, but the unpacked
# packages are members of one temporary workspace, so each dependency and
# each of our crates is compiled once instead of once per package graph;
# what it does not show is a package that builds only thanks to a feature
# another package turns on), or "skip". SMARTID_PACKAGE_CRATES names a
# subset of the crates.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"

# The published crates (smartid-examples, the root package, is never
# published and its tests are workspace tests by design).
crates="${SMARTID_PACKAGE_CRATES:-smartid-core smartid-testkit smartid-postgres smartid-cli audkenni-ciba dtrust-client hermod-client idm-config}"
mode="${SMARTID_PACKAGE_TESTS:-all}"
case "$mode" in
  all) test_args=() ;;
  lib-tests) test_args=(--lib --tests) ;;
  quick|isolated) test_args=() ;; # chosen per package below
  skip) echo "package tests skipped (SMARTID_PACKAGE_TESTS=skip)"; exit 0 ;;
  *) echo "SMARTID_PACKAGE_TESTS must be all, lib-tests, isolated, quick or skip, not '$mode'" >&2; exit 2 ;;
esac

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[ -n "$version" ] || { echo "no workspace version in Cargo.toml" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/smartid-package-tests.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Unpack every package first: each one's dependencies on the others are
# patched to the unpacked copies.
all="smartid-core smartid-testkit smartid-postgres smartid-cli audkenni-ciba dtrust-client hermod-client idm-config"
for crate in $all; do
  file="$target/package/$crate-$version.crate"
  [ -f "$file" ] || { echo "$file is missing: run cargo package --workspace first" >&2; exit 1; }
  tar -xzf "$file" -C "$work"
done
# Newer than any earlier build: cargo judges path packages by mtime, and the
# archive's old mtimes would let it reuse test binaries of an earlier run,
# whose CARGO_MANIFEST_DIR is a deleted directory.
find "$work" -type f -exec touch {} +

# Our crates that $1's package names (normal, dev and build dependencies).
direct_ours() {
  local manifest="$work/$1-$version/Cargo.toml" other
  for other in $all; do
    if grep -qE "^\[(target\..*\.)?(dev-|build-)?dependencies\.$other\]" "$manifest"; then
      echo "$other"
    fi
  done
}

# A .cargo/config.toml per package patching exactly the crates of ours in
# its graph (a patch that is not used draws a warning), found transitively.
for crate in $all; do
  # The crate itself too: a dev-dependency of ours that depends on it back
  # (smartid-testkit on smartid-core) must get this very copy.
  seen=" "
  todo="$crate $(direct_ours "$crate")"
  while [ -n "$todo" ]; do
    next=""
    for other in $todo; do
      case "$seen" in *" $other "*) continue ;; esac
      seen="$seen$other "
      # Dev-dependencies of a dependency are not in the graph.
      next="$next $(for o in $all; do
        grep -qE "^\[(target\..*\.)?(build-)?dependencies\.$o\]" "$work/$other-$version/Cargo.toml" && echo "$o" || true; done)"
    done
    todo="$(echo $next)"
  done
  mkdir -p "$work/$crate-$version/.cargo"
  {
    echo "[patch.crates-io]"
    for other in $seen; do
      if [ "$other" = "$crate" ]; then
        # Itself only when another crate in the graph depends on it.
        users=0
        for o in $seen; do
          [ "$o" != "$crate" ] && grep -qE "^\[(target\..*\.)?(build-)?dependencies\.$crate\]" \
            "$work/$o-$version/Cargo.toml" && users=1
        done
        [ "$users" = 1 ] || continue
      fi
      echo "$other = { path = \"$work/$other-$version\" }"
    done
  } >"$work/$crate-$version/.cargo/config.toml"
done

# The test targets of a package but tests/replica*.rs, as cargo test
# arguments, one per line.
quick_args() {
  (cd "$1" && cargo metadata --format-version 1 --no-deps --offline) |
    python3 -c '
import json, sys
meta = json.load(sys.stdin)
for target in meta["packages"][0]["targets"]:
    kinds = target["kind"]
    if "lib" in kinds:
        print("--lib")
    elif "bin" in kinds:
        print("--bin"); print(target["name"])
    elif "test" in kinds and not target["name"].startswith("replica"):
        print("--test"); print(target["name"])
'
}

failed=""
start_all=$SECONDS
if [ "$mode" = quick ]; then
  # Every package's own selection, then one cargo test for all of them: a
  # name such as --test seam selects that target in every member that has
  # one, so the union is what each package alone would run. (Read before
  # the workspace exists: inside it, cargo metadata describes every member.)
  args=()
  for crate in $crates; do
    mapfile -t more < <(quick_args "$work/$crate-$version")
    args+=("${more[@]}")
  done
  # One workspace of the unpacked packages, our crates patched to the
  # members, the versions pinned by the repository's Cargo.lock.
  {
    echo "[workspace]"
    echo 'resolver = "3"'
    echo "members = ["
    for crate in $crates; do echo "  \"$crate-$version\","; done
    echo "]"
    echo "[patch.crates-io]"
    for crate in $all; do echo "$crate = { path = \"$crate-$version\" }"; done
  } >"$work/Cargo.toml"
  cp Cargo.lock "$work/Cargo.lock"
  mapfile -t args < <(printf '%s\n' "${args[@]}" | awk '
    /^--(bin|test)$/ { flag = $0; next }
    flag != "" { key = flag " " $0; if (!(key in seen)) { seen[key] = 1; print flag; print $0 } flag = ""; next }
    { if (!($0 in seen)) { seen[$0] = 1; print } }')
  echo "== package tests: $crates, as one workspace in $work"
  if (cd "$work" && cargo test --workspace "${args[@]}"); then
    echo "== package tests ok in $((SECONDS - start_all)) s"
    exit 0
  fi
  echo "package tests failed (one workspace of the unpacked packages)" >&2
  exit 1
fi
for crate in $crates; do
  dir="$work/$crate-$version"
  echo "== package tests: $crate ($dir)"
  start=$SECONDS
  if [ "$mode" = isolated ]; then
    # The library and every integration test target but tests/replica*.rs.
    mapfile -t test_args < <(quick_args "$dir")
  fi
  # The package's own Cargo.lock pins the versions the workspace tested;
  # --locked is not possible because the patch rewrites our crates' entries.
  if (cd "$dir" && cargo test "${test_args[@]}"); then
    echo "== package tests: $crate ok in $((SECONDS - start)) s"
  else
    echo "== package tests: $crate FAILED after $((SECONDS - start)) s" >&2
    failed="$failed $crate"
  fi
done
echo "== package tests took $((SECONDS - start_all)) s in all"
if [ -n "$failed" ]; then
  echo "package tests failed for:$failed" >&2
  exit 1
fi
