"""What `infra/` deploys, read from its JSON files: the same files the Bicep loads with `loadJsonContent()`.

- `roles/*.json`: the app's custom roles; `roles/assignments.json`: every role assignment of the app's
  identity (custom roles by file name, built-in roles by GUID) and its scope kind;
- `app-settings.json`: the names of the app settings and where their Azure values come from;
- `storage-accounts.json`: the properties of the host and capture accounts.

The devstack builds its RBAC and the capture account's behaviour from these, so a role edited in `infra/` is
enforced locally exactly as Azure would enforce the deployed one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.common.builtin_roles import builtin_role_by_id
from devstack.schema import RoleAssignment, RoleDefinitionConfig

SCOPE_KINDS = ("subscription", "captureStorage", "hostStorage", "appInsights", "communication")


class InfraError(ValueError):
    """An infra JSON file is missing or malformed (the message names the file and the key)."""


@dataclass(frozen=True)
class InfraAssignment:
    """One role assignment of the app's identity: `role` is a role name, `scope` a SCOPE_KINDS entry, `when`
    the main.bicep parameter that must be true (None = always)."""

    role: str
    scope: str
    when: str | None = None
    role_definition_id: str = ""  # built-in roles: their GUID


@dataclass(frozen=True)
class AppSettingSpec:
    """An app setting main.bicep sets: `bicep` names its value in main.bicep's `settingValues`; `endpoint`
    marks values that differ between Azure and the devstack; `devstack` says how the devstack stands in when
    it does not set the name itself."""

    name: str
    bicep: str
    endpoint: bool = False
    devstack: str = ""


@dataclass(frozen=True)
class Infra:
    """The parts of `infra/` the devstack enforces."""

    directory: Path
    custom_roles: dict[str, RoleDefinitionConfig]  # by role file name (capture-operator, ...)
    assignments: list[InfraAssignment]
    app_settings: dict[str, AppSettingSpec]
    devstack_only_settings: dict[str, str]
    storage_accounts: dict[str, dict[str, Any]]

    @property
    def capture_allows_shared_key(self) -> bool:
        """The capture account's `allowSharedKeyAccess` (Azure's default when absent: true)."""
        return bool(self.storage_accounts.get("capture", {}).get("allowSharedKeyAccess", True))

    def app_assignments(
        self, principal_id: str, scopes: dict[str, str], parameters: dict[str, bool]
    ) -> list[RoleAssignment]:
        """The assignments of `principal_id` for the scope kinds the devstack has (`scopes`: kind -> ARM id)
        whose `when` parameter, if any, is true."""
        return [
            RoleAssignment(principal_id=principal_id, role=a.role, scope=scopes[a.scope])
            for a in self.assignments
            if a.scope in scopes and (a.when is None or parameters.get(a.when, False))
        ]


def load_infra(directory: Path) -> Infra:
    """Read and check the infra JSON files under `directory`."""
    directory = Path(directory)
    custom = {
        path.stem: _custom_role(path)
        for path in sorted((directory / "roles").glob("*.json"))
        if path.name != "assignments.json"
    }
    assignments = _assignments(directory / "roles" / "assignments.json", custom)
    settings_doc = _read(directory / "app-settings.json")
    settings = {
        name: AppSettingSpec(name, str(spec.get("bicep", "")), bool(spec.get("endpoint", False)),
                             str(spec.get("devstack", "")))
        for name, spec in _table(settings_doc, "settings", directory / "app-settings.json").items()
    }
    only = _table(settings_doc, "devstackOnly", directory / "app-settings.json")
    devstack_only = {str(k): str(v) for k, v in only.items()}
    storage = _read(directory / "storage-accounts.json")
    accounts = {k: v for k, v in storage.items() if not k.startswith("$") and isinstance(v, dict)}
    return Infra(directory, custom, assignments, settings, devstack_only, accounts)


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise InfraError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InfraError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InfraError(f"{path}: must hold a JSON object")
    return doc


def _table(doc: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise InfraError(f"{path}: {key} must be an object")
    return value


def _strings(doc: dict[str, Any], key: str, path: Path) -> list[str]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InfraError(f"{path}: {key} must be a list of non-empty strings")
    return list(value)


def _custom_role(path: Path) -> RoleDefinitionConfig:
    doc = _read(path)
    name = doc.get("roleName")
    if not isinstance(name, str) or not name:
        raise InfraError(f"{path}: roleName must be a non-empty string")
    return RoleDefinitionConfig(
        name=name,
        actions=_strings(doc, "actions", path),
        not_actions=_strings(doc, "notActions", path),
        data_actions=_strings(doc, "dataActions", path),
        not_data_actions=_strings(doc, "notDataActions", path),
        description=str(doc.get("description", "")),
    )


def _assignments(path: Path, custom: dict[str, RoleDefinitionConfig]) -> list[InfraAssignment]:
    items = _read(path).get("assignments")
    if not isinstance(items, list):
        raise InfraError(f"{path}: assignments must be a list")
    result = []
    for i, item in enumerate(items):
        where = f"{path}: assignments[{i}]"
        if not isinstance(item, dict) or item.get("scope") not in SCOPE_KINDS:
            raise InfraError(f"{where}.scope must be one of {', '.join(SCOPE_KINDS)}")
        when = item.get("when")
        if "customRole" in item:
            role = custom.get(str(item["customRole"]))
            if role is None:
                raise InfraError(f"{where}.customRole {item['customRole']!r} is not a file in roles/")
            result.append(InfraAssignment(role.name, item["scope"], when))
            continue
        builtin = builtin_role_by_id(str(item.get("roleDefinitionId", "")))
        if builtin is None or builtin.name != item.get("builtInRole"):
            raise InfraError(
                f"{where}: {item.get('builtInRole')!r} ({item.get('roleDefinitionId')!r}) is not a "
                "built-in role the devstack knows by that name and GUID"
            )
        result.append(InfraAssignment(builtin.name, item["scope"], when, builtin.role_id))
    return result
