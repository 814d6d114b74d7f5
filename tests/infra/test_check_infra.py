"""`make check-infra` passes on infra/ and fails, naming the file, on a template that does not parse."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import check_infra  # noqa: E402


def test_repository_infra_passes() -> None:
    assert check_infra.problems(REPO / "infra") == []


def test_a_broken_template_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(REPO / "infra", copy)
    storage = copy / "app" / "storage.bicep"
    storage.write_text(storage.read_text().replace("kind: 'StorageV2'", "kind: 'StorageV2' +", 1))
    found = check_infra.problems(copy)
    assert len(found) == 1 and "storage.bicep" in found[0]


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "infra"
    shutil.copytree(REPO / "infra", copy)
    return copy


def _edit(file: Path, old: str, new: str) -> Path:
    """Replace the first `old` in `file` (which must hold it) by `new`; returns the file."""
    text = file.read_text()
    assert old in text, (file, old)
    file.write_text(text.replace(old, new, 1))
    return file


def test_a_misspelt_property_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    function = copy / "app" / "function.bicep"
    function.write_text(function.read_text().replace("httpsOnly: true", "httpOnly: true", 1))
    found = check_infra.problems(copy)
    assert found == [f"{function}: resource site: Microsoft.Web/sites@2024-04-01 has no property "
                     "properties.httpOnly"]


def test_a_misspelt_property_in_a_loaded_json_object_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    accounts = copy / "storage-accounts.json"
    accounts.write_text(accounts.read_text().replace('"minimumTlsVersion"', '"minimumTLSVersion"', 1))
    found = check_infra.problems(copy)
    assert len(found) == 1 and "minimumTLSVersion" in found[0]


def test_a_non_existent_api_version_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    identity = copy / "app" / "identity.bicep"
    identity.write_text(identity.read_text().replace("@2023-01-31", "@2023-01-32", 1))
    found = check_infra.problems(copy)
    assert found == [f"{identity}: resource identity: Microsoft.ManagedIdentity/userAssignedIdentities"
                     "@2023-01-32 is not a published type/apiVersion"]


def test_a_misspelt_secure_webhook_receiver_property_is_reported(tmp_path: Path) -> None:
    # the receiver is union(key part, entra ? aad part : {}): every literal either branch may yield is checked
    copy = _copy(tmp_path)
    alerts = _edit(copy / "app" / "alerts.bicep", "identifierUri: secure", "identifierURI: secure")
    found = check_infra.problems(copy)
    assert found == [f"{alerts}: resource actionGroup: Microsoft.Insights/actionGroups@2023-01-01 has no "
                     "property properties.webhookReceivers[].identifierURI"]


def test_graph_resources_are_checked_against_the_extension_types(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    module = _edit(copy / "app" / "secure-webhook.bicep", "allowedMemberTypes:", "allowedMembersTypes:")
    assert "extension microsoftGraphV1" in module.read_text()  # the alias infra/bicepconfig.json pins
    found = check_infra.problems(copy)
    assert found == [f"{module}: resource webhookApp: Microsoft.Graph/applications@v1.0 has no property "
                     "appRoles[].allowedMembersTypes"]


def test_a_graph_type_the_extension_version_lacks_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    module = _edit(copy / "app" / "secure-webhook.bicep", "'Microsoft.Graph/appRoleAssignedTo@v1.0'",
                   "'Microsoft.Graph/appRoleAssignments@v1.0'")
    found = check_infra.problems(copy)
    assert found == [f"{module}: resource azureMonitorRole: Microsoft.Graph/appRoleAssignments@v1.0 is not a "
                     "published type of br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0"]


def test_the_quoted_extension_form_is_read_like_the_alias(tmp_path: Path) -> None:
    # pycep's grammar has only `extension <alias>`; check-infra records a quoted registry reference itself
    copy = _copy(tmp_path)
    reference = "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0"
    module = _edit(copy / "app" / "secure-webhook.bicep", "extension microsoftGraphV1",
                   f"extension '{reference}'")
    assert check_infra.problems(copy) == []
    _edit(module, "v1.0:1.0.0'", "v1.0:9.9.9'")
    found = check_infra.problems(copy)
    assert len(found) == 4
    assert all("not a published type of" in line and "v1.0:9.9.9" in line for line in found)


def test_an_extension_alias_missing_from_bicepconfig_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    module = _edit(copy / "app" / "secure-webhook.bicep", "extension microsoftGraphV1",
                   "extension microsoftGraph")
    found = check_infra.problems(copy)
    assert found == [f"{module}: extension microsoftGraph is not in {copy / 'bicepconfig.json'} extensions"]


def test_a_graph_resource_without_an_extension_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _edit(copy / "app" / "secure-webhook.bicep", "extension microsoftGraphV1", "")
    found = check_infra.problems(copy)
    assert len(found) == 4 and all("needs an `extension` declaration" in line for line in found)


def test_a_misspelt_role_action_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    role = _edit(copy / "roles" / "capture-operator.json", "packetCaptures/stop/action",
                 "packetCapture/stop/action")
    found = check_infra.problems(copy)
    assert found == [f"{role}: actions: Microsoft.Network/networkWatchers/packetCapture/stop/action is not "
                     "in Azure's resource provider operations list (infra/types/rbac-reference.json)"]


def test_a_control_plane_operation_given_as_a_data_action_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    role = _edit(copy / "roles" / "capture-storage-sas.json", '"dataActions": []',
                 '"dataActions": ["Microsoft.Storage/storageAccounts/listKeys/action"]')
    found = check_infra.problems(copy)
    assert len(found) == 1 and found[0].startswith(f"{role}: dataActions: Microsoft.Storage/storageAccounts/")


def test_a_wildcard_matching_no_operation_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    role = _edit(copy / "roles" / "capture-operator.json", "Microsoft.Authorization/*/read",
                 "Microsoft.Authorisation/*/read")
    found = check_infra.problems(copy)
    assert len(found) == 1
    assert found[0].startswith(f"{role}: actions: Microsoft.Authorisation/*/read is not in")


def test_a_built_in_role_guid_that_is_not_azures_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    assignments = _edit(copy / "roles" / "assignments.json", "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
                        "974c5e8b-45b9-4653-ba55-5f855dd0fb89")
    found = check_infra.problems(copy)
    assert found == [f"{assignments}: built-in role 'Storage Queue Data Contributor' "
                     "974c5e8b-45b9-4653-ba55-5f855dd0fb89: Azure's built-in roles list has no role "
                     "with that id"]


def test_a_built_in_role_under_another_roles_guid_is_reported(tmp_path: Path) -> None:
    copy = _copy(tmp_path)  # the Owner GUID under the Contributor name: a silent over-grant
    name = '"Storage Queue Data Contributor", "roleDefinitionId": '
    _edit(copy / "roles" / "assignments.json", f'{name}"974c5e8b',
          f'{name}"b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "x": "')
    found = check_infra.problems(copy)
    assert len(found) == 1 and found[0].endswith("has 'Storage Blob Data Owner' under that id")
