#!/usr/bin/env python3
"""Static checks of the published crates' packages (run by .ci/run).

1. No source, test, bench or example of a crate reads a file outside the
   crate: `include_str!`/`include_bytes!` paths and string literals joined to
   `CARGO_MANIFEST_DIR` must stay inside the crate directory, so that the
   tests pass in the unpacked package (ci/test-packages.sh runs them there).
2. Each crate's metadata says it is for Nexus Smart ID, names a readme, a
   license, a repository; README.md and CHANGELOG.md exist.
3. With --packages DIR (the `target/package` directory written by
   `cargo package`): each .crate holds its README.md, CHANGELOG.md, the
   license files and every file under tests/; its size is printed and must
   stay under the registry's 10 MiB limit.

Exit status 1 with one line per problem, saying what to change.
"""

import argparse
import os
import re
import sys
import tarfile
import tomllib

PUBLISHED = [
    "smartid-core",
    "smartid-testkit",
    "smartid-postgres",
    "smartid-cli",
    "audkenni-ciba",
    "dtrust-client",
    "hermod-client",
    "idm-config",
]
SCANNED = ("src", "tests", "benches", "examples")
INCLUDE = re.compile(r'include_(?:str|bytes)!\s*\(\s*"([^"]*)"')
MANIFEST_DIR = re.compile(r'CARGO_MANIFEST_DIR')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
REGISTRY_LIMIT = 10 * 1024 * 1024


def escapes(crate_dir, base, rel):
    """True when `rel` resolved against directory `base` leaves crate_dir."""
    target = os.path.normpath(os.path.join(base, rel))
    root = os.path.normpath(crate_dir)
    return not (target == root or target.startswith(root + os.sep))


def check_sources(root, crate, problems):
    crate_dir = os.path.join(root, "crates", crate)
    for top in SCANNED:
        for dirpath, _, files in os.walk(os.path.join(crate_dir, top)):
            for name in files:
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    lines = f.read().split("\n")
                shown = os.path.relpath(path, root)
                for no, line in enumerate(lines, 1):
                    for rel in INCLUDE.findall(line):
                        if escapes(crate_dir, dirpath, rel):
                            problems.append(
                                f"{shown}:{no}: includes {rel!r}, outside crates/{crate}: "
                                f"copy the file under crates/{crate}/tests/fixtures/")
                    if MANIFEST_DIR.search(line):
                        # The literals of this statement (up to 4 lines on).
                        window = " ".join(lines[no - 1:no + 4])
                        window = window.split(";")[0]
                        for rel in LITERAL.findall(window):
                            if rel == "CARGO_MANIFEST_DIR":
                                continue
                            if escapes(crate_dir, crate_dir, rel.lstrip("/")):
                                problems.append(
                                    f"{shown}:{no}: joins {rel!r} to CARGO_MANIFEST_DIR, outside "
                                    f"crates/{crate}: move what it reads into the crate (or the "
                                    "check into the root package's tests)")


def check_metadata(root, crate, problems):
    crate_dir = os.path.join(root, "crates", crate)
    with open(os.path.join(crate_dir, "Cargo.toml"), "rb") as f:
        package = tomllib.load(f)["package"]
    where = f"crates/{crate}/Cargo.toml"
    description = package.get("description", "")
    if "Nexus Smart ID" not in description:
        problems.append(f"{where}: description must say it is for Nexus Smart ID "
                        "(SK ID Solutions' Smart-ID crates use the same words)")
    if package.get("readme") != "README.md":
        problems.append(f'{where}: set readme = "README.md"')
    for key in ("license", "repository"):
        if key not in package:
            problems.append(f"{where}: {key} missing (use {key}.workspace = true)")
    if package.get("publish") is False:
        problems.append(f"{where}: publish = false, but the crate is in ci/check-packages.py's list")
    for keyword in package.get("keywords", []):
        if keyword in ("smart-id", "smartid"):
            problems.append(f"{where}: keyword {keyword!r} is SK ID Solutions' Smart-ID's; "
                            "use nexus-smart-id")
    for name in ("README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE"):
        if not os.path.isfile(os.path.join(crate_dir, name)):
            problems.append(f"crates/{crate}/{name} missing")


def check_package(root, crate, version, packages, problems):
    path = os.path.join(packages, f"{crate}-{version}.crate")
    if not os.path.isfile(path):
        problems.append(f"{path} missing: run cargo package --workspace first")
        return
    size = os.path.getsize(path)
    prefix = f"{crate}-{version}/"
    with tarfile.open(path) as tar:
        names = {m.name[len(prefix):] for m in tar.getmembers() if m.isfile()}
    print(f"{crate}-{version}.crate: {len(names)} files, {size / 1024:.0f} KiB")
    if size > REGISTRY_LIMIT:
        problems.append(f"{path}: {size} bytes, over the registry's 10 MiB limit: exclude what "
                        "the tests do not need")
    needed = {"README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE", "Cargo.toml"}
    crate_dir = os.path.join(root, "crates", crate)
    for dirpath, _, files in os.walk(os.path.join(crate_dir, "tests")):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), crate_dir)
            if "node_modules" not in rel.split(os.sep):
                needed.add(rel.replace(os.sep, "/"))
    for rel in sorted(needed - names):
        problems.append(f"{path}: lacks {rel}: the tests (or the registry page) need it; "
                        f"check include/exclude in crates/{crate}/Cargo.toml")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", help="directory of the .crate files (target/package)")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Cargo.toml"), "rb") as f:
        version = tomllib.load(f)["workspace"]["package"]["version"]
    problems = []
    on_disk = sorted(d for d in os.listdir(os.path.join(root, "crates"))
                     if os.path.isfile(os.path.join(root, "crates", d, "Cargo.toml")))
    for crate in on_disk:
        if crate not in PUBLISHED:
            problems.append(f"crates/{crate}: not in ci/check-packages.py's PUBLISHED list "
                            "(add it there, in .ci/run's package list and ci/test-packages.sh)")
    for crate in PUBLISHED:
        check_sources(root, crate, problems)
        check_metadata(root, crate, problems)
        if args.packages:
            check_package(root, crate, version, args.packages, problems)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"packages ok ({len(PUBLISHED)} crates)")


if __name__ == "__main__":
    main()
