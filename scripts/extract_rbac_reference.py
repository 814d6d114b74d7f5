"""Extract the subset of Azure's RBAC reference that infra/ relies on, from a checkout of
https://github.com/MicrosoftDocs/azure-docs (`articles/role-based-access-control/`), into
infra/types/rbac-reference.json:

- the resource provider operations (`permissions/*.md`, the tables of
  https://learn.microsoft.com/azure/role-based-access-control/resource-provider-operations): every operation
  sharing its parent path with an action or data action a role in infra/roles/ names
  (`.../packetCaptures/read` brings `.../packetCaptures/read|write|delete`), and every operation a wildcard
  action matches;
- the built-in roles (`built-in-roles.md`, https://learn.microsoft.com/azure/role-based-access-control/built-in-roles):
  the GUID and name of each one infra/roles/assignments.json or the devstack's ARM emulator refers to.

Only data is vendored; `make check-infra` compares the roles against it offline. The docs repository is large:
a sparse, blobless clone of `articles/role-based-access-control` is enough (git clone --filter=blob:none
--sparse; git sparse-checkout set articles/role-based-access-control).

Usage: python scripts/extract_rbac_reference.py /path/to/azure-docs [infra dir]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = "articles/role-based-access-control"
# `> | Microsoft.Network/networkWatchers/read | Get the network watcher definition |` (the tables' rows)
ROW = re.compile(r"^>?\s*\|\s*([A-Za-z0-9.]+/[^\s|]+)\s*\|\s*(.*?)\s*\|\s*$")
DATA_HEADER = re.compile(r"^>?\s*\|\s*\*\*DataAction\*\*\s*\|")
ROLE_ROW = re.compile(r"^>?\s*\|\s*\[([^\]]+)\]\([^)]*\)\s*\|.*\|\s*([0-9a-fA-F-]{36})\s*\|\s*$")
COMMENT = ("What scripts/check_infra.py checks infra/roles/ against (scripts/extract_rbac_reference.py says "
           "what is kept). Actions are compared case-insensitively, as Azure RBAC does.")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from extract_bicep_types import git_output  # noqa: E402


def _doc(checkout: Path, path: str) -> str:
    return git_output(checkout, "show", f"HEAD:{path}")


def parse_operations(markdown: str) -> tuple[dict[str, str], dict[str, str]]:
    """(operations, data operations) -> description, from one permissions/*.md page."""
    operations: dict[str, str] = {}
    data: dict[str, str] = {}
    in_data = False
    for line in markdown.splitlines():
        if line.startswith("## "):
            in_data = False
        elif DATA_HEADER.match(line):
            in_data = True
        elif match := ROW.match(line):
            (data if in_data else operations).setdefault(match.group(1), match.group(2))
    return operations, data


def parse_builtin_roles(markdown: str) -> dict[str, str]:
    """GUID -> name, from built-in-roles.md's table of every role."""
    return {m.group(2).lower(): m.group(1) for line in markdown.splitlines() if (m := ROLE_ROW.match(line))}


def _parent(action: str) -> str:
    return action.rsplit("/", 1)[0].lower()


def select(available: dict[str, str], used: set[str]) -> dict[str, str]:
    """The operations sharing a parent path with a used one, or matched by a used wildcard."""
    parents = {_parent(a) for a in used if "*" not in a}
    patterns = [a.lower() for a in used if "*" in a]
    return {op: text for op, text in available.items()
            if _parent(op) in parents or any(fnmatch.fnmatchcase(op.lower(), p) for p in patterns)}


def used_actions(infra: Path) -> tuple[set[str], set[str]]:
    """(actions + notActions, dataActions + notDataActions) of every custom role under infra/roles/."""
    actions: set[str] = set()
    data: set[str] = set()
    for path in sorted((infra / "roles").glob("*.json")):
        role = json.loads(path.read_text())
        if "roleName" in role:
            actions.update(role.get("actions", []) + role.get("notActions", []))
            data.update(role.get("dataActions", []) + role.get("notDataActions", []))
    return actions, data


def used_role_ids(infra: Path) -> set[str]:
    """The built-in role GUIDs of assignments.json and of the devstack's ARM emulator."""
    from devstack.common.builtin_roles import BUILTIN_ROLES

    doc = json.loads((infra / "roles" / "assignments.json").read_text())
    ids = {a["roleDefinitionId"].lower() for a in doc["assignments"] if "roleDefinitionId" in a}
    return ids | {role.role_id.lower() for role in BUILTIN_ROLES.values() if role.role_id}


def extract(checkout: Path, infra: Path) -> dict[str, Any]:
    """The reference document (see the module docstring)."""
    operations: dict[str, str] = {}
    data: dict[str, str] = {}
    listing = git_output(checkout, "ls-tree", "--name-only", "HEAD", f"{DOCS}/permissions/")
    for path in sorted(p for p in listing.splitlines() if p.endswith(".md")):
        ops, data_ops = parse_operations(_doc(checkout, path))
        operations.update(ops)
        data.update(data_ops)
    used, used_data = used_actions(infra)
    roles = parse_builtin_roles(_doc(checkout, f"{DOCS}/built-in-roles.md"))
    wanted = used_role_ids(infra)
    commit = git_output(checkout, "rev-parse", "HEAD").strip()
    return {
        "$source": f"https://github.com/MicrosoftDocs/azure-docs {DOCS} @ {commit}",
        "$comment": COMMENT,
        "operations": dict(sorted(select(operations, used).items())),
        "dataOperations": dict(sorted(select(data, used_data).items())),
        "builtInRoles": dict(sorted(((k, v) for k, v in roles.items() if k in wanted), key=lambda kv: kv[1])),
    }


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("checkout", type=Path, help="a MicrosoftDocs/azure-docs work tree or mirror")
    args.add_argument("infra", type=Path, nargs="?", default=ROOT / "infra")
    opts = args.parse_args()
    doc = extract(opts.checkout, opts.infra)
    out = opts.infra / "types" / "rbac-reference.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    missing = sorted(used_role_ids(opts.infra) - set(doc["builtInRoles"]))
    counts = (f"{len(doc['operations'])} operations, {len(doc['dataOperations'])} data operations, "
              f"{len(doc['builtInRoles'])} built-in roles")
    print(f"{out}: {counts}" + (f"; not found: {missing}" if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
