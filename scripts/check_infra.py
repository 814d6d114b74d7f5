"""Offline checks of infra/: every .bicep parses (pycep-parser, the Bicep grammar checkov uses; the Bicep CLI
is not installable from PyPI/npm/Debian), every JSON file the Bicep loads is valid JSON, and every resource's
`type@apiVersion` and every property path the templates set exist in the published Bicep type definitions:
Azure's (the subset vendored in infra/types/bicep-types.json) and, for the resources of a Bicep extension such
as Microsoft Graph's, the extension's (infra/types/msgraph-types.json); scripts/extract_bicep_types.py
extracts both.

Bicep extensions: `extension <alias>` (the alias resolved through the nearest bicepconfig.json `extensions`)
parses as is; `extension '<registry reference>'`, which pycep's grammar lacks, is recorded and blanked before
parsing. A Microsoft.Graph resource is checked against the types of the extension version its file declares.

Every action, notAction, dataAction and notDataAction of the custom roles (infra/roles/*.json) must be an
operation of Azure's resource provider operations list (a wildcard must match one), and every built-in role
assignments.json names must have that GUID and name in Azure's built-in roles list: the subset vendored in
infra/types/rbac-reference.json by scripts/extract_rbac_reference.py.

Then checkov (its own venv, .venv-checkov, from requirements-checkov.txt) runs over the templates with the
skips infra/.checkov.yaml justifies; a failed check or a file it cannot parse is a problem too.

Usage: python scripts/check_infra.py [--no-checkov] [infra dir]; exit status 1 and one line per problem.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[1]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_TIMEOUT_SECONDS = 300
WRAPPERS = {"loop_type", "condition"}  # pycep's wrapping of `[for ...]` and `if (...)` resource bodies
EXPRESSION_KEYS = {"function", "operator", "interpolation", "loop_type", "ternary"}
BICEP_KEYWORDS = {"parent", "scope", "dependsOn"}  # Bicep's own resource keys, not the resource body
# JSON files whose objects the Bicep passes as a resource's properties: file -> (type@apiVersion, path in it)
# `extension 'br:...'` / `extension "..."` (with an optional `with {...}` / `as alias` tail on the same line)
QUOTED_EXTENSION = re.compile(r"^[ \t]*extension[ \t]+'([^']+)'[^\n]*$", re.MULTILINE)
GRAPH_NAMESPACE = "Microsoft.Graph/"
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
    extensions: tuple[str, ...] = ()  # the registry references of the extensions the file declares

    @property
    def key(self) -> str:
        """`type@apiVersion`, as the type definitions name it."""
        return f"{self.type}@{self.api_version}"

    @property
    def from_extension(self) -> bool:
        """A resource of a Bicep extension (Microsoft Graph), not of Azure Resource Manager."""
        return self.type.startswith(GRAPH_NAMESPACE)


class ExtensionError(ValueError):
    """An `extension` declaration whose alias no bicepconfig.json defines."""


def parse_bicep(path: Path, parser: BicepParser | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """pycep's tree of one .bicep file and the registry references of the extensions it declares."""
    text = path.read_text()
    quoted = QUOTED_EXTENSION.findall(text)
    # blank the quoted declarations (same line count, so pycep's positions stay right)
    tree = (parser or BicepParser()).parse(text=QUOTED_EXTENSION.sub("", text))
    aliases = list(tree.get("extensions") or {})
    return tree, tuple(quoted) + tuple(_resolve_alias(path, alias) for alias in aliases)


def _resolve_alias(path: Path, alias: str) -> str:
    """An extension alias -> its registry reference, from the nearest bicepconfig.json (as Bicep finds it)."""
    for folder in path.resolve().parents:
        config = folder / "bicepconfig.json"
        if config.is_file():
            reference = (json.loads(config.read_text()).get("extensions") or {}).get(alias)
            if isinstance(reference, str) and reference:
                return reference
            raise ExtensionError(f"{path}: extension {alias} is not in {config} extensions")
    raise ExtensionError(f"{path}: extension {alias}: no bicepconfig.json defines it")


def declared_resources(infra: Path) -> list[Declared]:
    """Every resource declaration of every .bicep under `infra` (loops and conditions unwrapped)."""
    found = []
    parser = BicepParser()
    for path in sorted(infra.rglob("*.bicep")):
        tree, extensions = parse_bicep(path, parser)
        for symbol, res in (tree.get("resources") or {}).items():
            config = res.get("config") or {}
            while isinstance(config, dict) and "config" in config and WRAPPERS & set(config):
                config = config["config"]
            body = None if res.get("existing") else config
            found.append(Declared(path, symbol, res["type"], res["api_version"], body, extensions))
    return found


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= EXPRESSION_KEYS | {"condition", "config"}


def _branches(value: Any) -> list[Any] | None:
    """The object literals an expression may evaluate to, when it is `c ? a : b` or `union(a, b, ...)`."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    operator, function = value.get("operator"), value.get("function")
    if isinstance(operator, dict) and operator.get("type") == "conditional":
        operands = operator.get("operands") or {}
        return [operands.get("true_value"), operands.get("false_value")]
    if isinstance(function, dict) and function.get("type") == "union":
        return list((function.get("parameters") or {}).values())
    return None


def _walk(value: Any, node: dict[str, Any], path: str, out: list[str]) -> None:
    branches = _branches(value)
    if branches is not None:  # each literal a ternary or union() may yield must fit the same type
        for branch in branches:
            _walk(branch, node, path, out)
        return
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


def _extension_types(res: Declared, extensions: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The vendored types of the extension `res` comes from, or None and why."""
    if not res.extensions:
        return None, f"{res.key} needs an `extension` declaration (Microsoft Graph Bicep extension)"
    for reference in res.extensions:
        types = (extensions.get(reference) or {}).get("types")
        if types is not None and res.key in types:
            return types, ""
    return None, f"{res.key} is not a published type of {', '.join(res.extensions)}"


def type_problems(infra: Path) -> list[str]:
    """Resources whose `type@apiVersion`, or property paths, are not in the vendored type definitions."""
    vendored = json.loads((infra / "types" / "bicep-types.json").read_text())["types"]
    graph = infra / "types" / "msgraph-types.json"
    extensions = json.loads(graph.read_text())["extensions"] if graph.is_file() else {}
    found = []
    for res in declared_resources(infra):
        key = res.key
        where = f"{res.file}: resource {res.symbol}"
        if res.from_extension:
            types, why = _extension_types(res, extensions)
            if types is None:
                found.append(f"{where}: {why}")
                continue
        elif key in vendored:
            types = vendored
        else:
            found.append(f"{where}: {key} is not a published type/apiVersion")
            continue
        if res.body is None:
            continue
        unknown: list[str] = []
        body = {k: v for k, v in res.body.items() if k not in BICEP_KEYWORDS}
        _walk(body, types[key], "", unknown)
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


def _known(action: str, operations: set[str]) -> bool:
    """`action` is a listed operation, or a wildcard matching one (case-insensitive, as in Azure RBAC)."""
    action = action.lower()
    if "*" in action:
        return any(fnmatch.fnmatchcase(op, action) for op in operations)
    return action in operations


def role_problems(infra: Path) -> list[str]:
    """Custom-role actions missing from the operations list, built-in roles missing from the roles list."""
    reference = json.loads((infra / "types" / "rbac-reference.json").read_text())
    control = {op.lower() for op in reference["operations"]}
    data = {op.lower() for op in reference["dataOperations"]}
    where = "not in Azure's resource provider operations list (infra/types/rbac-reference.json)"
    found = []
    for path in sorted((infra / "roles").glob("*.json")):
        role = json.loads(path.read_text())
        if "roleName" not in role:
            continue
        for key, operations in (("actions", control), ("notActions", control),
                                ("dataActions", data), ("notDataActions", data)):
            unknown = [a for a in role.get(key, []) if not _known(a, operations)]
            found.extend(f"{path}: {key}: {a} is {where}" for a in unknown)
    builtin = {guid.lower(): name for guid, name in reference["builtInRoles"].items()}
    assignments = infra / "roles" / "assignments.json"
    for item in json.loads(assignments.read_text())["assignments"]:
        if "builtInRole" not in item:
            continue
        guid, name = str(item.get("roleDefinitionId", "")), item["builtInRole"]
        if builtin.get(guid.lower()) != name:
            listed = builtin.get(guid.lower())
            found.append(f"{assignments}: built-in role {name!r} {guid}: Azure's built-in roles list has "
                         + (f"{listed!r} under that id" if listed else "no role with that id"))
    return found


def problems(infra: Path) -> list[str]:
    """One message per file that does not parse."""
    found = []
    parser = BicepParser()
    for path in sorted(infra.rglob("*.bicep")):
        try:
            parse_bicep(path, parser)
        except ExtensionError as exc:
            found.append(str(exc))
        except Exception as exc:  # pycep raises lark's errors; the message names line and column
            found.append(f"{path}: does not parse: {str(exc).splitlines()[0]}")
    for path in sorted(infra.rglob("*.json")):
        try:
            json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            found.append(f"{path}: invalid JSON: {exc}")
    if found:
        return found
    return type_problems(infra) + role_problems(infra)


def checkov_problems(infra: Path, checkov: Path = CHECKOV) -> list[str]:
    """checkov's failed checks and parse failures on `infra` (skips: `infra`/.checkov.yaml), one line each."""
    if not checkov.is_file():
        return [f"{checkov} is missing: run `make setup` (it installs requirements-checkov.txt)"]
    command = [str(checkov), "--config-file", str(infra / ".checkov.yaml"), "--directory", str(infra),
               "--framework", "bicep", "--output", "json", "--skip-download"]
    # --skip-download and BC_SKIP_MAPPING: no calls to Prisma Cloud (CI has no network beyond the registries)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=CHECKOV_TIMEOUT_SECONDS)
    try:
        reports = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"checkov did not report (exit {done.returncode}): {tail}"]
    found = []
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report.get("results", {}).get("failed_checks", []):
            where = failed.get("file_abs_path") or failed.get("file_path")
            found.append(f"{where}: checkov {failed['check_id']} ({failed.get('check_name', '')}) "
                         f"fails on {failed.get('resource', '?')}")
        unparsed = report.get("summary", {}).get("parsing_errors")
        if unparsed:
            found.append(f"checkov could not parse {unparsed} file(s) under {infra} (LOG_LEVEL=DEBUG: which)")
    return found


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--no-checkov"]
    infra = Path(args[0]) if args else ROOT / "infra"
    found = problems(infra)
    if not found and "--no-checkov" not in sys.argv:
        found = checkov_problems(infra)
    for line in found:
        print(line)
    print(f"check-infra: {'FAILED' if found else 'ok'} ({infra})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
