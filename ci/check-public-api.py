#!/usr/bin/env python3
"""Fails when a published crate names a dependency's type in its public API.

For each crate it asks rustdoc for its JSON description (default features,
`RUSTC_BOOTSTRAP=1 cargo rustdoc -p <crate> --lib -- -Z unstable-options
--output-format json`), walks every public item reachable from the crate
root (functions and methods, public struct fields, enum variants, trait
items and bounds, type aliases, constants, statics, trait implementations,
re-exports) and collects every path that lives in another crate than std,
core, alloc or the workspace's own crates. Each finding must be listed in
ci/public-api-allowlist.txt, one per line with a reason:

    <crate or *>  <path>  # why it may be public

`<path>` is the item's defining path (what the finding prints); a trailing
`::*` allows everything under a module. Anything new fails the check with
the item that exposes it; allowlist entries that match nothing are reported
as stale (a warning: they may belong to a non-default feature).

cargo-check-external-types 0.5.0 (`cargo install`, then run with
RUSTC_BOOTSTRAP=1) also works with the stable 1.95 toolchain and reports the
same paths for smartid-core; this script needs nothing installed.

Only the standard library is used; python3 and the Rust toolchain are all
it needs.

Usage: ci/check-public-api.py [--json-dir DIR] [--allowlist FILE] [crate ...]
  --json-dir DIR    read DIR/<crate>.json instead of running cargo rustdoc
  --allowlist FILE  another allowlist (the self-check in .ci/run uses an
                    empty one to prove that findings fail the check)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "ci" / "public-api-allowlist.txt"
DEFAULT_CRATES = [
    "smartid-core",
    "smartid-testkit",
    "smartid-postgres",
    "audkenni-ciba",
    "dtrust-client",
    "hermod-client",
    "idm-config",
]
STD = {"std", "core", "alloc", "proc_macro", "test"}


def workspace_crates():
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return {p["name"].replace("-", "_") for p in json.loads(out)["packages"]}


def rustdoc_json(crate, json_dir):
    lib = crate.replace("-", "_")
    if json_dir:
        return json.loads((Path(json_dir) / f"{lib}.json").read_text())
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    subprocess.run(
        ["cargo", "rustdoc", "-q", "-p", crate, "--lib", "--",
         "-Z", "unstable-options", "--output-format", "json"],
        cwd=ROOT, env=env, check=True,
    )
    return json.loads((target / "doc" / f"{lib}.json").read_text())


class Walker:
    def __init__(self, doc, own):
        self.doc = doc
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.crates = {int(k): v["name"] for k, v in doc["external_crates"].items()}
        self.crates[0] = doc["index"][str(doc["root"])]["name"]
        self.own = own
        self.found = {}  # path -> set of places
        self.seen = set()

    # -- paths ---------------------------------------------------------
    def external(self, item_id, fallback):
        info = self.paths.get(str(item_id)) if item_id is not None else None
        if info is None:
            item = self.index.get(str(item_id)) if item_id is not None else None
            if item is not None:
                return None  # local item
            crate = fallback.split("::")[0]
            path = fallback
        else:
            crate = self.crates.get(info["crate_id"], "?")
            path = "::".join(info["path"])
        if crate in STD or crate in self.own:
            return None
        return path

    def note_path(self, p, where):
        name = self.external(p.get("id"), p.get("path", "?"))
        if name:
            self.found.setdefault(name, set()).add(where)
        self.args(p.get("args"), where)

    def args(self, args, where):
        if not args:
            return
        if "angle_bracketed" in args:
            ab = args["angle_bracketed"]
            for a in ab.get("args", []):
                if isinstance(a, dict) and "type" in a:
                    self.ty(a["type"], where)
                elif isinstance(a, dict) and "const" in a:
                    self.ty(a["const"].get("type"), where)
            for c in ab.get("constraints", []):
                self.args(c.get("args"), where)
                b = c.get("binding", {})
                if "equality" in b:
                    eq = b["equality"]
                    if isinstance(eq, dict) and "type" in eq:
                        self.ty(eq["type"], where)
                elif "constraint" in b:
                    self.bounds(b["constraint"], where)
        elif "parenthesized" in args:
            pa = args["parenthesized"]
            for t in pa.get("inputs", []):
                self.ty(t, where)
            self.ty(pa.get("output"), where)

    def bounds(self, bounds, where):
        for b in bounds or []:
            if "trait_bound" in b:
                tb = b["trait_bound"]
                self.note_path(tb["trait"], where)
                self.generic_params(tb.get("generic_params", []), where)

    def generic_params(self, params, where):
        for gp in params or []:
            kind = gp.get("kind", {})
            if "type" in kind:
                self.bounds(kind["type"].get("bounds"), where)
                self.ty(kind["type"].get("default"), where)
            elif "const" in kind:
                self.ty(kind["const"].get("type"), where)

    def generics(self, g, where):
        if not g:
            return
        self.generic_params(g.get("params"), where)
        for wp in g.get("where_predicates", []):
            if "bound_predicate" in wp:
                bp = wp["bound_predicate"]
                self.ty(bp.get("type"), where)
                self.bounds(bp.get("bounds"), where)
                self.generic_params(bp.get("generic_params"), where)
            elif "eq_predicate" in wp:
                ep = wp["eq_predicate"]
                self.ty(ep.get("lhs"), where)
                rhs = ep.get("rhs")
                if isinstance(rhs, dict) and "type" in rhs:
                    self.ty(rhs["type"], where)

    def ty(self, t, where):
        if not t or not isinstance(t, dict):
            return
        if "resolved_path" in t:
            self.note_path(t["resolved_path"], where)
        elif "dyn_trait" in t:
            for pt in t["dyn_trait"].get("traits", []):
                self.note_path(pt["trait"], where)
                self.generic_params(pt.get("generic_params"), where)
        elif "borrowed_ref" in t:
            self.ty(t["borrowed_ref"]["type"], where)
        elif "raw_pointer" in t:
            self.ty(t["raw_pointer"]["type"], where)
        elif "slice" in t:
            self.ty(t["slice"], where)
        elif "array" in t:
            self.ty(t["array"]["type"], where)
        elif "tuple" in t:
            for e in t["tuple"]:
                self.ty(e, where)
        elif "impl_trait" in t:
            self.bounds(t["impl_trait"], where)
        elif "qualified_path" in t:
            qp = t["qualified_path"]
            self.ty(qp.get("self_type"), where)
            if qp.get("trait"):
                self.note_path(qp["trait"], where)
            self.args(qp.get("args"), where)
        elif "function_pointer" in t:
            self.sig(t["function_pointer"]["sig"], where)
            self.generic_params(t["function_pointer"].get("generic_params"), where)
        elif "pat" in t:
            self.ty(t["pat"].get("type"), where)

    def sig(self, sig, where):
        for _name, t in sig.get("inputs", []):
            self.ty(t, where)
        self.ty(sig.get("output"), where)

    # -- items -----------------------------------------------------------
    def item(self, item_id, where):
        key = str(item_id)
        if key in self.seen or key not in self.index:
            return
        self.seen.add(key)
        it = self.index[key]
        if it.get("crate_id", 0) != 0:
            return
        if it.get("visibility") not in ("public", "default") and "impl" not in it["inner"]:
            return
        name = it.get("name") or ""
        here = f"{where}::{name}" if name else where
        kind, inner = next(iter(it["inner"].items()))
        if kind == "module":
            for child in inner.get("items", []):
                self.item(child, here)
        elif kind == "use":
            target = inner.get("id")
            if target is not None and str(target) in self.index:
                self.item(target, where)
            elif target is not None:
                ext = self.external(target, inner.get("source", "?"))
                if ext:
                    kind_of = "glob re-export" if inner.get("is_glob") else "re-export"
                    self.found.setdefault(ext, set()).add(f"{here} ({kind_of})")
        elif kind == "function":
            self.sig(inner["sig"], here)
            self.generics(inner.get("generics"), here)
        elif kind == "struct":
            self.generics(inner.get("generics"), here)
            sk = inner.get("kind", {})
            fields = []
            if isinstance(sk, dict):
                if "plain" in sk:
                    fields = sk["plain"].get("fields", [])
                elif "tuple" in sk:
                    fields = [f for f in sk["tuple"] if f is not None]
            for f in fields:
                self.item(f, here)
            for imp in inner.get("impls", []):
                self.impl(imp, here)
        elif kind == "union":
            self.generics(inner.get("generics"), here)
            for f in inner.get("fields", []):
                self.item(f, here)
            for imp in inner.get("impls", []):
                self.impl(imp, here)
        elif kind == "struct_field":
            self.ty(inner, here)
        elif kind == "enum":
            self.generics(inner.get("generics"), here)
            for v in inner.get("variants", []):
                self.item(v, here)
            for imp in inner.get("impls", []):
                self.impl(imp, here)
        elif kind == "variant":
            vk = inner.get("kind", {})
            if isinstance(vk, dict):
                if "tuple" in vk:
                    for f in vk["tuple"]:
                        if f is not None:
                            self.item(f, here)
                elif "struct" in vk:
                    for f in vk["struct"].get("fields", []):
                        self.item(f, here)
        elif kind == "trait":
            self.generics(inner.get("generics"), here)
            self.bounds(inner.get("bounds"), here)
            for child in inner.get("items", []):
                self.item(child, here)
            for imp in inner.get("implementations", []):
                self.impl(imp, here)
        elif kind == "type_alias":
            self.ty(inner.get("type"), here)
            self.generics(inner.get("generics"), here)
        elif kind in ("constant", "assoc_const"):
            self.ty(inner.get("type"), here)
        elif kind == "static":
            self.ty(inner.get("type"), here)
        elif kind == "assoc_type":
            self.generics(inner.get("generics"), here)
            self.bounds(inner.get("bounds"), here)
            self.ty(inner.get("type"), here)

    def impl(self, impl_id, owner):
        key = str(impl_id)
        if key in self.seen or key not in self.index:
            return
        self.seen.add(key)
        it = self.index[key]
        inner = it["inner"]["impl"]
        if inner.get("is_synthetic") or inner.get("blanket_impl") is not None:
            return
        trait = inner.get("trait")
        if trait is not None:
            where = f"{owner} (impl {trait.get('path', '?')})"
            self.note_path(trait, where)
            self.ty(inner.get("for"), where)
            self.generics(inner.get("generics"), where)
            # A trait's items are the trait's API, not ours: only the
            # associated types we choose are ours.
            for child in inner.get("items", []):
                c = self.index.get(str(child))
                if c and "assoc_type" in c["inner"]:
                    self.ty(c["inner"]["assoc_type"].get("type"), where)
            return
        self.generics(inner.get("generics"), owner)
        for child in inner.get("items", []):
            c = self.index.get(str(child))
            if c and c.get("visibility") == "public":
                self.item(child, owner)


def load_allowlist():
    entries, problems = [], []
    for n, raw in enumerate(Path(ALLOWLIST).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, _, reason = line.partition("#")
        parts = body.split()
        if len(parts) != 2 or not reason.strip():
            problems.append(f"{Path(ALLOWLIST).name}:{n}: want `<crate or *>  <path>  # reason`: {raw}")
            continue
        entries.append({"crate": parts[0], "path": parts[1], "line": n, "used": False})
    return entries, problems


def allowed(entries, crate, path):
    hit = False
    for e in entries:
        if e["crate"] not in ("*", crate):
            continue
        p = e["path"]
        if p == path or (p.endswith("::*") and path.startswith(p[:-1])):
            e["used"] = True
            hit = True
    return hit


def shown_path(p):
    try:
        return str(Path(p).relative_to(ROOT))
    except ValueError:
        return str(p)


def main(argv):
    global ALLOWLIST
    json_dir = None
    while argv[:1] in (["--json-dir"], ["--allowlist"]):
        if len(argv) < 2:
            print(f"error: {argv[0]} needs a value", file=sys.stderr)
            return 2
        if argv[0] == "--json-dir":
            json_dir = argv[1]
        else:
            ALLOWLIST = Path(argv[1]).resolve()
        argv = argv[2:]
    crates = argv or DEFAULT_CRATES
    entries, problems = load_allowlist()
    own = workspace_crates()
    new = []
    for crate in crates:
        doc = rustdoc_json(crate, json_dir)
        w = Walker(doc, own)
        w.item(doc["root"], "")
        for path in sorted(w.found):
            if not allowed(entries, crate, path):
                places = sorted(w.found[path])
                shown = ", ".join(p.lstrip(":") for p in places[:3])
                more = f" (+{len(places) - 3} more)" if len(places) > 3 else ""
                new.append(f"{crate}  {path}  # in {shown}{more}")
    for e in entries:
        if not e["used"] and (e["crate"] == "*" or e["crate"] in crates):
            print(f"warning: {Path(ALLOWLIST).name}:{e['line']}: {e['crate']} {e['path']} matched "
                  "nothing (stale, or behind a non-default feature)", file=sys.stderr)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if new:
        print("error: dependency types in public signatures that the allowlist does not name "
              f"({shown_path(ALLOWLIST)}); remove them from the API or add a line with "
              "a reason:", file=sys.stderr)
        for n in new:
            print(f"  {n}", file=sys.stderr)
    if new or problems:
        return 1
    print(f"public API: no unlisted dependency types in {', '.join(crates)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
