"""The roles infra/ deploys are the roles the devstack enforces: every custom role file is loaded by the
Bicep, every built-in role is referenced by a GUID the devstack knows under the same name, and the
least-privilege shape holds (LRO polling, key listing only on the capture account, ACS's documented role)."""

from __future__ import annotations

import json

from devstack.common.builtin_roles import builtin_role_by_id
from devstack.infra import load_infra
from devstack.schema import REPO_INFRA_DIR


def test_every_role_file_is_loaded_by_the_bicep() -> None:
    bicep = (REPO_INFRA_DIR / "app" / "custom-roles.bicep").read_text()
    files = sorted(p.name for p in (REPO_INFRA_DIR / "roles").glob("*.json") if p.name != "assignments.json")
    assert [f for f in files if f"loadJsonContent('../roles/{f}')" not in bicep] == []


def test_builtin_roles_are_known_by_guid_and_name() -> None:
    doc = json.loads((REPO_INFRA_DIR / "roles" / "assignments.json").read_text())
    builtins = [a for a in doc["assignments"] if "builtInRole" in a]
    assert builtins
    for a in builtins:
        role = builtin_role_by_id(a["roleDefinitionId"])
        assert role is not None and role.name == a["builtInRole"], a


def test_capture_operator_polls_operations_and_reads_instance_view() -> None:
    operator = load_infra(REPO_INFRA_DIR).custom_roles["capture-operator"]
    for action in (
        "Microsoft.Network/locations/operations/read",
        "Microsoft.Network/locations/operationResults/read",
        "Microsoft.Compute/locations/operations/read",
        "Microsoft.Compute/virtualMachines/instanceView/read",
    ):
        assert action in operator.actions
    assert not any(a.startswith("Microsoft.Storage/") for a in operator.actions)  # not subscription-wide


def test_key_listing_is_assigned_on_the_capture_account_only() -> None:
    infra = load_infra(REPO_INFRA_DIR)
    sas = infra.custom_roles["capture-storage-sas"]
    assert "Microsoft.Storage/storageAccounts/listKeys/action" in sas.actions
    scopes = {a.scope for a in infra.assignments if a.role == sas.name}
    assert scopes == {"captureStorage"}


def test_the_capture_account_blob_role_is_narrow_and_on_the_capture_account_only() -> None:
    infra = load_infra(REPO_INFRA_DIR)
    harvester = infra.custom_roles["capture-blob-harvester"]
    blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"
    assert sorted(harvester.data_actions) == [blobs + "delete", blobs + "read", blobs + "write"]
    assert not any("*" in a for a in (*harvester.actions, *harvester.data_actions))
    assert {a.scope for a in infra.assignments if a.role == harvester.name} == {"captureStorage"}
    on_capture = [a.role for a in infra.assignments if a.scope == "captureStorage"]
    assert not any(r.startswith("Storage Blob") for r in on_capture), "no built-in blob data role there"


def test_email_role_is_the_documented_acs_role() -> None:
    email = load_infra(REPO_INFRA_DIR).custom_roles["email-sender"]
    assert sorted(email.actions) == sorted([
        "Microsoft.Communication/CommunicationServices/Read",
        "Microsoft.Communication/CommunicationServices/Write",
        "Microsoft.Communication/EmailServices/write",
    ])


def test_custom_role_names_are_unique_per_subscription_and_environment() -> None:
    bicep = (REPO_INFRA_DIR / "app" / "custom-roles.bicep").read_text()
    name = "roleName: '${item.value.roleName} (${environmentName}, ${subscription().subscriptionId})'"
    assert name in bicep


def test_capture_account_allows_shared_keys_for_network_watcher() -> None:
    assert load_infra(REPO_INFRA_DIR).capture_allows_shared_key
    params = json.loads((REPO_INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert params["agentAutoInstall"]["value"].startswith("${ALERTCAP_AGENT_AUTO_INSTALL")
