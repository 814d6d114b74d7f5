"""The devstack configuration's schema: the dataclasses `devstack/config.py` builds from a TOML file.

No loading here (that is `devstack.config`), so modules that only need the types (RBAC, the emulators) import
this one and nothing imports back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from devstack.paths import REPO_ROOT

REPO_INFRA_DIR = REPO_ROOT / "infra"

POWER_STATES = ("running", "deallocated", "stopped")
OS_TYPES = ("Linux", "Windows")
ALERT_METRICS = ("TcpSegmentsSent", "NetworkOutTotal")
ALERT_OPERATORS = ("GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")
PORT_SERVICES = ("identity", "arm", "acs", "admin", "blob")


class ConfigError(ValueError):
    """The configuration file is unreadable or a key holds a bad value (the message names the key)."""


_REGION_RE = re.compile(r"^[a-z0-9]{1,40}$")


def region_name(value: object) -> str:
    """An Azure region's programmatic name (`West Europe` -> `westeurope`); ValueError if it cannot be one
    (it becomes part of ids such as `NetworkWatcher_<region>`)."""
    region = value.lower().replace(" ", "") if isinstance(value, str) else ""
    if not _REGION_RE.match(region):
        raise ValueError(f"location must be a region name such as 'westeurope', got {value!r}")
    return region


@dataclass(frozen=True)
class VmConfig:
    """One emulated virtual machine and the local interface its captures run on."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    os: str = "Linux"
    interface: str = "lo"
    netns: str | None = None
    agent_installed: bool = True
    power_state: str = "running"
    vm_id: str = ""


@dataclass(frozen=True)
class ScaleSetConfig:
    """One emulated VM scale set; `instances` are instance VM names such as `vmss-web_0`."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    os: str = "Linux"
    interface: str = "lo"
    netns: str | None = None
    agent_installed: bool = True
    power_state: str = "running"
    vm_id: str = ""
    instances: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StorageAccountConfig:
    """A storage account served by Azurite (`key` is its base64 shared key)."""

    id: str
    name: str
    key: str
    allow_shared_key_access: bool = True  # the capture account's comes from infra/storage-accounts.json


@dataclass(frozen=True)
class RoleDefinitionConfig:
    """A custom role (from `infra/roles/*.json`), evaluated like an Azure role definition (wildcards,
    case-insensitive)."""

    name: str
    actions: list[str]
    not_actions: list[str] = field(default_factory=list)
    data_actions: list[str] = field(default_factory=list)
    not_data_actions: list[str] = field(default_factory=list)
    description: str = ""


@dataclass(frozen=True)
class RoleAssignment:
    """`principal_id` holds `role` (a built-in or custom role name) at `scope` (an ARM id prefix)."""

    principal_id: str
    role: str
    scope: str


@dataclass(frozen=True)
class AlertRuleConfig:
    """A metric alert rule evaluated by the devstack monitor (issue 5)."""

    name: str
    vm: str
    metric: str
    operator: str
    threshold: float
    window_seconds: int
    frequency_seconds: int
    severity: int = 3
    description: str = ""


@dataclass(frozen=True)
class CommunicationServiceConfig:
    """The emulated Azure Communication Services resource (`key` signs HMAC requests)."""

    id: str
    name: str
    key: str


@dataclass(frozen=True)
class CaptureConfig:
    """Capture timing: `speed` multiplies real time (2.0 = a 60 s capture lasts 30 s)."""

    speed: float = 1.0


@dataclass(frozen=True)
class EmailConfig:
    """Email defaults: the sender domain the ACS emulator accepts and the default recipients."""

    sender_domain: str = "alertcap.localhost"
    sender: str = "DoNotReply@alertcap.localhost"
    recipients: list[str] = field(default_factory=lambda: ["oncall@alertcap.localhost"])


@dataclass(frozen=True)
class PortsConfig:
    """Listening ports per service on 127.0.0.1; 0 picks a free port."""

    identity: int = 0
    arm: int = 0
    acs: int = 0
    admin: int = 0
    blob: int = 0


@dataclass(frozen=True)
class DevstackConfig:
    """Everything `python -m devstack up` emulates."""

    subscription_id: str
    tenant_id: str
    principal_id: str
    vms: list[VmConfig]
    scale_sets: list[ScaleSetConfig]
    storage_accounts: list[StorageAccountConfig]
    capture_storage_account: str
    role_assignments: list[RoleAssignment]
    custom_roles: list[RoleDefinitionConfig] = field(default_factory=list)
    communication_service: CommunicationServiceConfig | None = None  # always set by load_config
    session_limit_per_region: int = 10000
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    ports: PortsConfig = field(default_factory=PortsConfig)
    alert_rules: list[AlertRuleConfig] = field(default_factory=list)
    email: EmailConfig = field(default_factory=EmailConfig)
    app_settings: dict[str, str] = field(default_factory=dict)
    infra_dir: Path = REPO_INFRA_DIR

    def storage_account(self, account_id: str) -> StorageAccountConfig:
        """The storage account with this ARM id (case-insensitive); KeyError if unknown."""
        for account in self.storage_accounts:
            if account.id.lower() == account_id.lower():
                return account
        raise KeyError(account_id)

    @property
    def capture_account(self) -> StorageAccountConfig:
        """The storage account capture files go to."""
        return self.storage_account(self.capture_storage_account)


def vm_resource_id(subscription_id: str, resource_group: str, name: str, scale_set: bool = False) -> str:
    """The ARM id of a VM (or a scale set when `scale_set`)."""
    kind = "virtualMachineScaleSets" if scale_set else "virtualMachines"
    rg_id = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    return f"{rg_id}/providers/Microsoft.Compute/{kind}/{name}"

