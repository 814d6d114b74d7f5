"""The RBAC reference check-infra uses (infra/types/rbac-reference.json) and the script that extracts it from
the Azure docs (scripts/extract_rbac_reference.py): the parser reads the docs' table formats, the vendored
subset follows the script's selection rule, and it covers the devstack's built-in roles too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devstack.common.builtin_roles import BUILTIN_ROLES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import extract_rbac_reference as extract  # noqa: E402

REFERENCE = json.loads((REPO / "infra" / "types" / "rbac-reference.json").read_text())

PERMISSIONS_PAGE = """## Microsoft.Network

> [!div class="mx-tableFixed"]
> | Action | Description |
> | --- | --- |
> | Microsoft.Network/networkWatchers/read | Get the network watcher definition |
> | Microsoft.Network/networkWatchers/write | Creates a network watcher |
> | Microsoft.Network/networkWatchers/packetCaptures/read | Get the packet capture definition |
> | Microsoft.Network/virtualNetworks/read | Get the virtual network definition |
> | **DataAction** | **Description** |
> | Microsoft.Network/networkWatchers/secrets/read | (a made-up data action) |

## Microsoft.Storage

> | Action | Description |
> | --- | --- |
> | Microsoft.Storage/storageAccounts/read | Returns the list of storage accounts |
"""

ROLES_PAGE = """| Built-in role | Description | ID |
| --- | --- | --- |
| [Reader](built-in-roles/general#reader) | View all resources. | acdd72a7-3385-48ef-bd42-f606fba81ae7 |
> | [Network Contributor](#network-contributor) | Networks. | 4d97b98b-1d4f-4787-a291-c67834d212e7 |
"""


def test_parses_the_operation_tables_and_their_data_actions() -> None:
    operations, data = extract.parse_operations(PERMISSIONS_PAGE)
    assert operations["Microsoft.Network/networkWatchers/read"] == "Get the network watcher definition"
    assert "Microsoft.Storage/storageAccounts/read" in operations  # a new provider section: not data any more
    assert list(data) == ["Microsoft.Network/networkWatchers/secrets/read"]


def test_keeps_siblings_of_used_actions_and_what_wildcards_match() -> None:
    operations, _ = extract.parse_operations(PERMISSIONS_PAGE)
    kept = extract.select(operations, {"Microsoft.Network/networkWatchers/read", "Microsoft.Storage/*/read"})
    watchers = "Microsoft.Network/networkWatchers"
    assert sorted(kept) == [f"{watchers}/read", f"{watchers}/write", "Microsoft.Storage/storageAccounts/read"]


def test_parses_the_built_in_roles_table() -> None:
    roles = extract.parse_builtin_roles(ROLES_PAGE)
    assert roles == {"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
                     "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor"}


def test_extracts_from_a_docs_checkout(tmp_path: Path) -> None:
    docs = tmp_path / "azure-docs"
    pages = docs / "articles" / "role-based-access-control"
    (pages / "permissions").mkdir(parents=True)
    (pages / "permissions" / "networking.md").write_text(PERMISSIONS_PAGE)
    (pages / "built-in-roles.md").write_text(ROLES_PAGE)
    identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
    for command in (["init", "-q"], ["add", "."], [*identity, "commit", "-qm", "docs"]):
        subprocess.run(["git", "-C", str(docs), *command], check=True)
    doc = extract.extract(docs, REPO / "infra")
    # infra/'s roles name networkWatchers/read, packetCaptures/* and storageAccounts/read, not virtualNetworks
    assert sorted(doc["operations"]) == ["Microsoft.Network/networkWatchers/packetCaptures/read",
                                         "Microsoft.Network/networkWatchers/read",
                                         "Microsoft.Network/networkWatchers/write",
                                         "Microsoft.Storage/storageAccounts/read"]
    assert doc["builtInRoles"] == {"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
                                   "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor"}


def test_the_vendored_subset_follows_the_selection_rule() -> None:
    used, used_data = extract.used_actions(REPO / "infra")
    assert extract.select(REFERENCE["operations"], used) == REFERENCE["operations"]
    assert extract.select(REFERENCE["dataOperations"], used_data | {
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",  # kept for data roles to come
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action",
    }) == REFERENCE["dataOperations"]


def test_every_built_in_role_the_devstack_knows_is_azures_under_that_guid() -> None:
    listed = {guid.lower(): name for guid, name in REFERENCE["builtInRoles"].items()}
    assert {r.role_id.lower(): r.name for r in BUILTIN_ROLES.values() if r.role_id} == listed
