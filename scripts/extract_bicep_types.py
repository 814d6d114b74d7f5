"""Extract the small subset of the published Bicep type definitions that infra/ uses:

- Azure's, from a checkout of https://github.com/Azure/bicep-types-az (its `generated/**/types.json`), into
  infra/types/bicep-types.json;
- with `--graph`, the Microsoft Graph Bicep extension's, from a checkout of
  https://github.com/microsoftgraph/msgraph-bicep-types (`generated/microsoftgraph/microsoft.graph/<Graph
  version>/<extension version>/types.json`, the version the templates' `extension` declaration names), into
  infra/types/msgraph-types.json.

Only data is vendored: for each `type@apiVersion` the templates declare, the tree of property names it accepts
(`p`: properties, `a`: any extra key allowed, `i`: the item type of an array). `make check-infra` compares the
templates against it offline.

Usage: python scripts/extract_bicep_types.py /path/to/bicep-types-az [infra dir]
       python scripts/extract_bicep_types.py --graph /path/to/msgraph-bicep-types [infra dir]
(a work tree or a bare mirror: files are read from its HEAD commit)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_DEPTH = 8
AZURE_REPO = "https://github.com/Azure/bicep-types-az"
GRAPH_REPO = "https://github.com/microsoftgraph/msgraph-bicep-types"
GRAPH_REGISTRY = "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/"
sys.path.insert(0, str(ROOT / "scripts"))
from check_infra import declared_resources  # noqa: E402


def used_types(infra: Path) -> set[str]:
    """Every Azure `type@apiVersion` the templates declare (resources and `existing` references)."""
    return {r.key for r in declared_resources(infra) if not r.from_extension}


def used_extension_types(infra: Path) -> dict[str, set[str]]:
    """Extension registry reference -> the `type@apiVersion` of its resources the templates declare."""
    found: dict[str, set[str]] = {}
    for res in declared_resources(infra):
        if res.from_extension:
            for reference in res.extensions:
                found.setdefault(reference, set()).add(res.key)
    return found


def graph_types_file(reference: str) -> str:
    """`br:.../microsoftgraph/v1.0:1.0.0` -> its types.json path in msgraph-bicep-types."""
    if not reference.startswith(GRAPH_REGISTRY) or ":" not in reference[len(GRAPH_REGISTRY):]:
        raise ValueError(f"not a Microsoft Graph Bicep extension reference: {reference}")
    graph_version, extension_version = reference[len(GRAPH_REGISTRY):].split(":", 1)
    return f"generated/microsoftgraph/microsoft.graph/{graph_version}/{extension_version}/types.json"


def git_output(checkout: Path, *args: str) -> str:
    """The stdout of `git -C <checkout> <args>` (a work tree or a bare mirror; raises if git fails)."""
    done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True)
    return done.stdout


def type_files(checkout: Path) -> list[str]:
    """The generated types.json paths of the checkout (a work tree or a bare mirror), relative to it."""
    listing = git_output(checkout, "ls-tree", "-r", "--name-only", "HEAD", "generated")
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


def _resource_trees(types: list[dict[str, Any]], wanted: set[str], found: dict[str, Any]) -> None:
    for node in types:
        if node.get("$type") == "ResourceType" and node["name"] in wanted and node["name"] not in found:
            found[node["name"]] = _tree(types, node["body"]["$ref"], 0)


def extract(checkout: Path, wanted: set[str]) -> dict[str, Any]:
    """`type@apiVersion` -> property tree for every wanted type found in the checkout."""
    found: dict[str, Any] = {}
    versions = {w.split("@")[1] for w in wanted}
    for path in type_files(checkout):
        if path.split("/")[-2] not in versions:
            continue
        _resource_trees(json.loads(git_output(checkout, "show", f"HEAD:{path}")), wanted, found)
    return found


def extract_graph(checkout: Path, wanted: dict[str, set[str]]) -> dict[str, Any]:
    """Extension reference -> {"types": `type@apiVersion` -> property tree} for the Graph types used."""
    extensions: dict[str, Any] = {}
    for reference, keys in sorted(wanted.items()):
        found: dict[str, Any] = {}
        types = json.loads(git_output(checkout, "show", f"HEAD:{graph_types_file(reference)}"))
        _resource_trees(types, keys, found)
        extensions[reference] = {"types": dict(sorted(found.items()))}
    return extensions


def _write(out: Path, source: str, checkout: Path, key: str, content: dict[str, Any]) -> None:
    commit = git_output(checkout, "rev-parse", "HEAD").strip()
    out.parent.mkdir(exist_ok=True)
    doc = {"$source": f"{source} generated/ @ {commit or '?'}", key: content}
    out.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("checkout", type=Path, help="bicep-types-az (or, with --graph, msgraph-bicep-types)")
    args.add_argument("infra", type=Path, nargs="?", default=ROOT / "infra")
    args.add_argument("--graph", action="store_true", help="extract the Microsoft Graph extension's types")
    opts = args.parse_args()
    if opts.graph:
        wanted_graph = used_extension_types(opts.infra)
        graph = extract_graph(opts.checkout, wanted_graph)
        out = opts.infra / "types" / "msgraph-types.json"
        _write(out, GRAPH_REPO, opts.checkout, "extensions", graph)
        missing = sorted(k for ref, keys in wanted_graph.items() for k in keys - set(graph[ref]["types"]))
        count = sum(len(e["types"]) for e in graph.values())
    else:
        wanted = used_types(opts.infra)
        found = extract(opts.checkout, wanted)
        out = opts.infra / "types" / "bicep-types.json"
        _write(out, AZURE_REPO, opts.checkout, "types", dict(sorted(found.items())))
        missing = sorted(wanted - set(found))
        count = len(found)
    print(f"{out}: {count} types" + (f"; not found: {', '.join(missing)}" if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
