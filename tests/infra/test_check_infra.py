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
