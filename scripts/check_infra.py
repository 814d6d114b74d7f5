"""Offline checks of infra/: every .bicep parses (pycep-parser, the Bicep grammar checkov uses; the Bicep CLI
is not installable from PyPI/npm/Debian), every JSON file the Bicep loads is valid JSON, and every resource's
`type@apiVersion` and every property path the templates set exist in Azure's published Bicep type definitions
(the subset vendored in infra/types/bicep-types.json by scripts/extract_bicep_types.py).

Usage: python scripts/check_infra.py [infra dir]; exit status 1 and one line per problem when something fails.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[1]
WRAPPERS = {"loop_type", "condition"}  # pycep's wrapping of `[for ...]` and `if (...)` resource bodies
EXPRESSION_KEYS = {"function", "operator", "interpolation", "loop_type", "ternary"}
BICEP_KEYWORDS = {"parent", "scope", "dependsOn"}  # Bicep's own resource keys, not the resource body
# JSON files whose objects the Bicep passes as a resource's properties: file -> (type@apiVersion, path in it)
LOADED_OBJECTS = {
    "storage-accounts.json": ("Microsoft.Storage/storageAccounts@2023-05-01", ("properties",)),
}


@dataclass(frozen=True)
class Declared:
    """One `resource` declaration: where, its type and apiVersion, and its literal body (None if existing)."""

    file: Path
    symbol: str
    type: str
    api_version: str
    body: dict[str, Any] | None


def declared_resources(infra: Path) -> list[Declared]:
    """Every resource declaration of every .bicep under `infra` (loops and conditions unwrapped)."""
    found = []
    for path in sorted(infra.rglob("*.bicep")):
        tree = BicepParser().parse(file_path=path)
        for symbol, res in (tree.get("resources") or {}).items():
            config = res.get("config") or {}
            while isinstance(config, dict) and "config" in config and WRAPPERS & set(config):
                config = config["config"]
            body = None if res.get("existing") else config
            found.append(Declared(path, symbol, res["type"], res["api_version"], body))
    return found


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= EXPRESSION_KEYS | {"condition", "config"}


def _walk(value: Any, node: dict[str, Any], path: str, out: list[str]) -> None:
    if isinstance(value, list):
        item = node.get("i")
        for element in value:
            if item is not None:
                _walk(element, item, path + "[]", out)
        return
    if not isinstance(value, dict) or _is_expression(value) or node.get("a") or "p" not in node:
        return
    for quoted, child in value.items():
        key = quoted.strip("'")  # pycep keeps the quotes of keys such as 'odata.type'
        if key in node["p"]:
            _walk(child, node["p"][key], f"{path}.{key}", out)
        else:
            out.append(f"{path}.{key}")


def type_problems(infra: Path) -> list[str]:
    """Resources whose `type@apiVersion`, or property paths, are not in the vendored type definitions."""
    vendored = json.loads((infra / "types" / "bicep-types.json").read_text())["types"]
    found = []
    for res in declared_resources(infra):
        key = f"{res.type}@{res.api_version}"
        where = f"{res.file}: resource {res.symbol}"
        if key not in vendored:
            found.append(f"{where}: {key} is not a published type/apiVersion")
            continue
        if res.body is None:
            continue
        unknown: list[str] = []
        body = {k: v for k, v in res.body.items() if k not in BICEP_KEYWORDS}
        _walk(body, vendored[key], "", unknown)
        found.extend(f"{where}: {key} has no property {p.lstrip('.')}" for p in unknown)
    return found + loaded_object_problems(infra, vendored)


def loaded_object_problems(infra: Path, vendored: dict[str, Any]) -> list[str]:
    """The JSON objects the Bicep loads as a resource's properties, checked like literal properties."""
    found = []
    for name, (key, path) in LOADED_OBJECTS.items():
        node = vendored[key]
        for step in path:
            node = node["p"][step]
        doc = json.loads((infra / name).read_text())
        for entry, value in doc.items():
            if entry.startswith("$"):
                continue
            unknown: list[str] = []
            _walk(value, node, "", unknown)
            found.extend(f"{infra / name}: {entry}: {key} has no property {p.lstrip('.')}" for p in unknown)
    return found


def problems(infra: Path) -> list[str]:
    """One message per file that does not parse."""
    found = []
    parser = BicepParser()
    for path in sorted(infra.rglob("*.bicep")):
        try:
            parser.parse(file_path=path)
        except Exception as exc:  # pycep raises lark's errors; the message names line and column
            found.append(f"{path}: does not parse: {str(exc).splitlines()[0]}")
    for path in sorted(infra.rglob("*.json")):
        try:
            json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            found.append(f"{path}: invalid JSON: {exc}")
    if found:
        return found
    return type_problems(infra)


def main() -> int:
    infra = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "infra"
    found = problems(infra)
    for line in found:
        print(line)
    print(f"check-infra: {'FAILED' if found else 'ok'} ({infra})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
