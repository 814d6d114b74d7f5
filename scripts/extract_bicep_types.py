"""Extract the small subset of Azure's published Bicep type definitions that infra/ uses, from a checkout of
https://github.com/Azure/bicep-types-az (its `generated/**/types.json`), into infra/types/bicep-types.json.

Only data is vendored: for each `type@apiVersion` the templates declare, the tree of property names it accepts
(`p`: properties, `a`: any extra key allowed, `i`: the item type of an array). `make check-infra` compares the
templates against it offline.

Usage: python scripts/extract_bicep_types.py /path/to/bicep-types-az [infra dir]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_DEPTH = 8


def used_types(infra: Path) -> set[str]:
    """Every `type@apiVersion` the templates declare (resources and `existing` references)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from check_infra import declared_resources

    return {f"{r.type}@{r.api_version}" for r in declared_resources(infra)}


def _git(checkout: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True)
    return done.stdout


def type_files(checkout: Path) -> list[str]:
    """The generated types.json paths of the checkout (a work tree or a bare mirror), relative to it."""
    listing = _git(checkout, "ls-tree", "-r", "--name-only", "HEAD", "generated")
    return sorted(line for line in listing.splitlines() if line.endswith("/types.json"))


def _tree(types: list[dict[str, Any]], ref: str, depth: int) -> dict[str, Any]:
    node = types[int(ref.split("/")[-1])]
    kind = node.get("$type")
    if depth > MAX_DEPTH:
        return {"a": 1}
    if kind == "ObjectType":
        out: dict[str, Any] = {"p": {k: _tree(types, v["type"]["$ref"], depth + 1)
                                     for k, v in node.get("properties", {}).items()}}
        if node.get("additionalProperties"):
            out["a"] = 1
        return out
    if kind == "DiscriminatedObjectType":
        base = node.get("baseProperties", {})
        props = {k: _tree(types, v["type"]["$ref"], depth + 1) for k, v in base.items()}
        props[node["discriminator"]] = {}
        for element in node.get("elements", {}).values():
            props.update(_tree(types, element["$ref"], depth + 1).get("p", {}))
        return {"p": props}
    if kind == "ArrayType":
        return {"i": _tree(types, node["itemType"]["$ref"], depth + 1)}
    if kind == "AnyType":
        return {"a": 1}
    if kind == "UnionType":
        merged: dict[str, Any] = {}
        for element in node.get("elements", []):
            sub = _tree(types, element["$ref"], depth + 1)
            merged.setdefault("p", {}).update(sub.get("p", {}))
            if sub.get("a"):
                merged["a"] = 1
        return merged
    return {}


def extract(checkout: Path, wanted: set[str]) -> dict[str, Any]:
    """`type@apiVersion` -> property tree for every wanted type found in the checkout."""
    found: dict[str, Any] = {}
    versions = {w.split("@")[1] for w in wanted}
    for path in type_files(checkout):
        if path.split("/")[-2] not in versions:
            continue
        types = json.loads(_git(checkout, "show", f"HEAD:{path}"))
        for node in types:
            if node.get("$type") == "ResourceType" and node["name"] in wanted and node["name"] not in found:
                found[node["name"]] = _tree(types, node["body"]["$ref"], 0)
    return found


def main() -> int:
    checkout = Path(sys.argv[1])
    infra = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "infra"
    wanted = used_types(infra)
    found = extract(checkout, wanted)
    commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    out = infra / "types" / "bicep-types.json"
    out.parent.mkdir(exist_ok=True)
    doc = {"$source": f"https://github.com/Azure/bicep-types-az generated/ @ {commit.stdout.strip() or '?'}",
           "types": dict(sorted(found.items()))}
    out.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")
    missing = sorted(wanted - set(found))
    print(f"{out}: {len(found)} types" + (f"; not found: {', '.join(missing)}" if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
