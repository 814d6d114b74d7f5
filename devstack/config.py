"""Loading the devstack configuration: a TOML file turned into the dataclasses of `devstack.schema`.

`load_config(None)` reads the default `devstack/devstack.toml`. Every problem is reported as a `ConfigError`
whose message names the offending key (for example `vms[1].power_state`). The app's roles, their
assignments and the capture account's properties are not in the TOML: they are read from `infra/`
(`devstack.infra`), the files the Azure deployment uses, or from the directory the TOML's `infra_dir` names.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from devstack import infra
from devstack.common.builtin_roles import BUILTIN_ROLES
from devstack.schema import (  # noqa: F401  (re-exported: the schema's names are importable from here)
    ALERT_METRICS,
    ALERT_OPERATORS,
    OS_TYPES,
    PORT_SERVICES,
    POWER_STATES,
    REPO_INFRA_DIR,
    AlertRuleConfig,
    CaptureConfig,
    CommunicationServiceConfig,
    ConfigError,
    DevstackConfig,
    EmailConfig,
    PortsConfig,
    RoleAssignment,
    RoleDefinitionConfig,
    ScaleSetConfig,
    StorageAccountConfig,
    VmConfig,
    region_name,
    vm_resource_id,
)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("devstack.toml")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._()-]{0,79}$")
_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def load_config(path: Path | None = None) -> DevstackConfig:
    """Read and validate a devstack TOML file (`None` = the default `devstack/devstack.toml`)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return parse_config(raw, base_dir=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_config(raw: dict[str, Any], base_dir: Path | None = None) -> DevstackConfig:
    """Validate an already-parsed TOML document and build the config; `infra_dir` (default: the repository's
    `infra/`) is resolved against `base_dir` (the TOML file's folder) when relative."""
    r = _Reader(raw, "")
    sub = r.guid("subscription_id")
    tenant = r.guid("tenant_id")
    principal = r.guid("principal_id")
    storage = [
        _storage(_Reader(t, f"storage_accounts[{i}]"), sub)
        for i, t in enumerate(r.tables("storage_accounts"))
    ]
    capture_account = _resolve_account(r.str("capture_storage_account"), storage)
    infra_dir = _infra_dir(r, base_dir)
    assignments = [
        _assignment(_Reader(t, f"role_assignments[{i}]"), principal, sub)
        for i, t in enumerate(r.tables("role_assignments"))
    ]
    vms = [_vm(_Reader(t, f"vms[{i}]"), sub) for i, t in enumerate(r.tables("vms"))]
    scale_sets = [
        _scale_set(_Reader(t, f"scale_sets[{i}]"), sub) for i, t in enumerate(r.tables("scale_sets"))
    ]
    acs = r.table("communication_service")
    config = DevstackConfig(
        subscription_id=sub,
        tenant_id=tenant,
        principal_id=principal,
        vms=vms,
        scale_sets=scale_sets,
        storage_accounts=storage,
        capture_storage_account=capture_account,
        role_assignments=assignments,
        communication_service=_acs(_Reader(acs if acs is not None else {}, "communication_service"), sub),
        session_limit_per_region=r.int("session_limit_per_region", 10000, minimum=1),
        capture=_capture(_Reader(r.table("capture") or {}, "capture")),
        ports=_ports(_Reader(r.table("ports") or {}, "ports")),
        alert_rules=[_alert(_Reader(t, f"alert_rules[{i}]")) for i, t in enumerate(r.tables("alert_rules"))],
        email=_email(_Reader(r.table("email") or {}, "email")),
        app_settings=_app_settings(r.table("app_settings") or {}),
        infra_dir=infra_dir,
    )
    r.reject_unknown()
    config = _with_infra(config)
    _check_cross_references(config)
    return config


def _infra_dir(r: _Reader, base_dir: Path | None) -> Path:
    value = r.get("infra_dir")
    if value is None:
        return REPO_INFRA_DIR
    if not isinstance(value, str) or not value:
        raise ConfigError(f"infra_dir must be a non-empty path, got {value!r}")
    path = Path(value)
    return path if path.is_absolute() or base_dir is None else (base_dir / path).resolve()


def _with_infra(config: DevstackConfig) -> DevstackConfig:
    """The config plus what `infra/` deploys: the app's custom roles, its role assignments (scopes mapped to
    the devstack's subscription, capture account and ACS resource) and the capture account's shared keys."""
    try:
        deployed = infra.load_infra(config.infra_dir)
    except infra.InfraError as exc:
        raise ConfigError(f"infra_dir: {exc}") from None
    assert config.communication_service is not None
    scopes = {
        "subscription": f"/subscriptions/{config.subscription_id}",
        "captureStorage": config.capture_storage_account,
        "communication": config.communication_service.id,
    }
    switch = {
        "agentAutoInstall": "AGENT_AUTO_INSTALL",
        "networkWatcherAutoCreate": "NETWORK_WATCHER_AUTO_CREATE",
    }
    parameters = {p: config.app_settings.get(name, "false").lower() == "true" for p, name in switch.items()}
    app_assignments = deployed.app_assignments(config.principal_id, scopes, parameters)
    shared_key = deployed.capture_allows_shared_key
    accounts = [
        replace(a, allow_shared_key_access=shared_key) if a.id == config.capture_storage_account else a
        for a in config.storage_accounts
    ]
    return replace(
        config,
        custom_roles=list(deployed.custom_roles.values()),
        role_assignments=[*config.role_assignments, *app_assignments],
        storage_accounts=accounts,
    )



class _Reader:
    """Typed access to one TOML table that remembers which keys were read, for error messages."""

    def __init__(self, table: Any, where: str) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{where or 'config'} must be a table")
        self.data, self.where, self.seen = table, where, set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, default: Any = None, required: bool = False) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if required:
                raise ConfigError(f"{self.key(name)} is required")
            return default
        return self.data[name]

    def str(self, name: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self.get(name, default, required=default is None)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.key(name)} must be a non-empty string, got {value!r}")
        if choices:
            for choice in choices:
                if value.lower() == choice.lower():
                    return choice
            raise ConfigError(f"{self.key(name)} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def opt_str(self, name: str) -> str | None:
        value = self.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{self.key(name)} must be a non-empty string, got {value!r}")
        return value

    def guid(self, name: str, default: str | None = None) -> str:
        value = self.str(name, default)
        if not _GUID_RE.match(value):
            raise ConfigError(f"{self.key(name)} must be a GUID, got {value!r}")
        return value.lower()

    def bool(self, name: str, default: bool) -> bool:
        value = self.get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(name)} must be true or false, got {value!r}")
        return value

    def int(self, name: str, default: int | None = None, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.get(name, default, required=default is None)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.key(name)} must be an integer, got {value!r}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{self.key(name)} must be {bound}, got {value}")
        return value

    def float(self, name: str, default: float | None = None, positive: bool = False) -> float:
        value = self.get(name, default, required=default is None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.key(name)} must be a number, got {value!r}")
        if positive and value <= 0:
            raise ConfigError(f"{self.key(name)} must be > 0, got {value}")
        return float(value)

    def str_list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.get(name, default, required=default is None)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{self.key(name)} must be a list of non-empty strings, got {value!r}")
        return list(value)

    def table(self, name: str) -> dict[str, Any] | None:
        value = self.get(name)
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{self.key(name)} must be a table")
        return value

    def tables(self, name: str) -> list[dict[str, Any]]:
        value = self.get(name, [])
        if not isinstance(value, list):
            raise ConfigError(f"{self.key(name)} must be an array of tables ([[{name}]])")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise ConfigError(f"{self.key(name)}[{i}] must be a table")
        return value

    def name(self, key: str = "name") -> str:
        value = self.str(key)
        if not _NAME_RE.match(value):
            raise ConfigError(f"{self.key(key)} is not a valid Azure resource name: {value!r}")
        return value

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"unknown key {self.key(unknown[0])}")


def _machine_fields(r: _Reader, default_sub: str, scale_set: bool) -> dict[str, Any]:
    name = r.name()
    sub = r.guid("subscription_id", default_sub)
    rg = r.name("resource_group")
    try:
        location = region_name(r.str("location"))
    except ValueError as exc:
        raise ConfigError(f"{r.key('location')}: {exc}") from None
    netns = r.opt_str("netns")
    if netns is not None and not re.match(r"^alertcap-[a-z0-9-]{1,20}$", netns):
        raise ConfigError(
            f"{r.key('netns')} must look like 'alertcap-<name>' (lowercase, <= 29 chars), got {netns!r}"
        )
    return {
        "id": vm_resource_id(sub, rg, name, scale_set),
        "name": name,
        "subscription_id": sub,
        "resource_group": rg,
        "location": location,
        "os": r.str("os", "Linux", OS_TYPES),
        "interface": r.str("interface", "lo"),
        "netns": netns,
        "agent_installed": r.bool("agent_installed", True),
        "power_state": r.str("power_state", "running", POWER_STATES),
        "vm_id": r.guid("vm_id", str(uuid.uuid5(uuid.NAMESPACE_URL, name + rg + sub))),
    }


def _vm(r: _Reader, default_sub: str) -> VmConfig:
    vm = VmConfig(**_machine_fields(r, default_sub, scale_set=False))
    r.reject_unknown()
    return vm


def _scale_set(r: _Reader, default_sub: str) -> ScaleSetConfig:
    fields = _machine_fields(r, default_sub, scale_set=True)
    instances = r.str_list("instances", [f"{fields['name']}_0", f"{fields['name']}_1"])
    r.reject_unknown()
    return ScaleSetConfig(**fields, instances=instances)


def _storage(r: _Reader, default_sub: str) -> StorageAccountConfig:
    name = r.str("name")
    if not _ACCOUNT_RE.match(name):
        raise ConfigError(f"{r.key('name')} must be 3-24 lowercase letters or digits, got {name!r}")
    sub = r.guid("subscription_id", default_sub)
    rg = r.name("resource_group")
    key = r.str("key")
    try:
        base64.b64decode(key, validate=True)
    except ValueError as exc:
        raise ConfigError(f"{r.key('key')} must be base64") from exc
    r.reject_unknown()
    account_id = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
    )
    return StorageAccountConfig(id=account_id, name=name, key=key)


def _acs(r: _Reader, default_sub: str) -> CommunicationServiceConfig:
    name = r.str("name", "acs-alertcap")
    sub = r.guid("subscription_id", default_sub)
    rg = r.str("resource_group", "rg-alertcap")
    default_key = base64.b64encode(hashlib.sha256(f"acs:{sub}:{rg}:{name}".encode()).digest()).decode()
    key = r.str("key", default_key)
    try:
        base64.b64decode(key, validate=True)
    except ValueError as exc:
        raise ConfigError(f"{r.key('key')} must be base64") from exc
    r.reject_unknown()
    rg_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
    acs_id = f"{rg_id}/providers/Microsoft.Communication/communicationServices/{name}"
    return CommunicationServiceConfig(id=acs_id, name=name, key=key)


def _resolve_account(ref: str, accounts: list[StorageAccountConfig]) -> str:
    for account in accounts:
        if ref.lower() in (account.name, account.id.lower()):
            return account.id
    raise ConfigError(f"capture_storage_account {ref!r} is not one of the [[storage_accounts]]")


def _assignment(r: _Reader, app_principal: str, sub: str) -> RoleAssignment:
    principal = r.str("principal_id", "app")
    principal = app_principal if principal == "app" else r.guid("principal_id")
    scope = r.str("scope", f"/subscriptions/{sub}")
    if not scope.startswith("/"):
        raise ConfigError(f"{r.key('scope')} must be an ARM id starting with '/', got {scope!r}")
    assignment = RoleAssignment(principal_id=principal, role=r.str("role"), scope=scope.rstrip("/") or "/")
    r.reject_unknown()
    return assignment


def _alert(r: _Reader) -> AlertRuleConfig:
    rule = AlertRuleConfig(
        name=r.str("name"),
        vm=r.str("vm"),
        metric=r.str("metric", choices=ALERT_METRICS),
        operator=r.str("operator", "GreaterThan", ALERT_OPERATORS),
        threshold=r.float("threshold"),
        window_seconds=r.int("window_seconds", 300, minimum=1),
        frequency_seconds=r.int("frequency_seconds", 60, minimum=1),
        severity=r.int("severity", 3, minimum=0, maximum=4),
        description=r.get("description", ""),
    )
    r.reject_unknown()
    return rule


def _capture(r: _Reader) -> CaptureConfig:
    capture = CaptureConfig(speed=r.float("speed", 1.0, positive=True))
    r.reject_unknown()
    return capture


def _ports(r: _Reader) -> PortsConfig:
    ports = PortsConfig(**{svc: r.int(svc, 0, minimum=0, maximum=65535) for svc in PORT_SERVICES})
    r.reject_unknown()
    return ports


def _email(r: _Reader) -> EmailConfig:
    domain = r.str("sender_domain", "alertcap.localhost").lower()
    email = EmailConfig(
        sender_domain=domain,
        sender=r.str("sender", f"DoNotReply@{domain}"),
        recipients=r.str_list("recipients", [f"oncall@{domain}"]),
    )
    r.reject_unknown()
    if email.sender.rpartition("@")[2].lower() != domain:
        raise ConfigError(f"email.sender {email.sender!r} is not in email.sender_domain {domain!r}")
    return email


def _app_settings(table: dict[str, Any]) -> dict[str, str]:
    for key, value in table.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise ConfigError(f"app_settings.{key} is not a valid setting name")
        if not isinstance(value, str):
            raise ConfigError(f"app_settings.{key} must be a string, got {value!r}")
    return dict(table)


def _check_cross_references(config: DevstackConfig) -> None:
    custom = {role.name.lower() for role in config.custom_roles}
    known = custom | {name.lower() for name in BUILTIN_ROLES}
    for i, assignment in enumerate(config.role_assignments):
        if assignment.role.lower() not in known:
            raise ConfigError(
                f"role_assignments[{i}].role {assignment.role!r} is neither built-in nor in infra/roles/"
            )
    names = [vm.name.lower() for vm in config.vms]
    machine_ids = [m.id.lower() for m in [*config.vms, *config.scale_sets]]
    if len(set(machine_ids)) != len(machine_ids):
        raise ConfigError("two [[vms]]/[[scale_sets]] entries have the same resource id")
    for i, rule in enumerate(config.alert_rules):
        if rule.vm.lower() not in names and rule.vm.lower() not in machine_ids:
            raise ConfigError(f"alert_rules[{i}].vm {rule.vm!r} is not a configured VM name or id")
