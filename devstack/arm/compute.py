"""Emulated Compute resources: VMs, scale sets (with their instances) and VM extensions, and their ARM bodies.

Bodies follow what `azure-mgmt-compute` deserializes (`VirtualMachine`, `VirtualMachineInstanceView`,
`VirtualMachineExtension`, `VirtualMachineScaleSet`, `VirtualMachineScaleSetVM`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.arm.exceptions import InvalidParameter
from devstack.config import region_name

NW_PUBLISHER = "Microsoft.Azure.NetworkWatcher"
NW_AGENT_TYPES = {"Linux": "NetworkWatcherAgentLinux", "Windows": "NetworkWatcherAgentWindows"}
NW_EXTENSION_NAME = "AzureNetworkWatcherExtension"
POWER_STATES = {"running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated"}
VM_TYPE = "Microsoft.Compute/virtualMachines"
VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
EXTENSION_TYPE = "Microsoft.Compute/virtualMachines/extensions"
MACHINE_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/"
    r"(?P<kind>virtualMachines|virtualMachineScaleSets)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._()-]{0,79}$")
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
NETNS_DIR = Path("/run/netns")
SYS_NET_DIR = Path("/sys/class/net")


@dataclass
class Extension:
    """A VM extension (the Network Watcher agent is the one that matters)."""

    name: str
    publisher: str
    type: str
    type_handler_version: str = "1.4"
    auto_upgrade_minor_version: bool = True
    provisioning_state: str = "Succeeded"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_network_watcher_agent(self) -> bool:
        """Matched by publisher and type, as the docs advise (the instance name varies)."""
        return self.publisher.lower() == NW_PUBLISHER.lower() and self.type in NW_AGENT_TYPES.values()

    def body(self, machine: Machine) -> dict[str, Any]:
        """The `VirtualMachineExtension` body."""
        return {
            "name": self.name,
            "id": f"{machine.id}/extensions/{self.name}",
            "type": EXTENSION_TYPE if machine.kind == "vm" else f"{VMSS_TYPE}/extensions",
            "location": machine.location,
            "properties": {
                "autoUpgradeMinorVersion": self.auto_upgrade_minor_version,
                "provisioningState": self.provisioning_state,
                "publisher": self.publisher,
                "type": self.type,
                "typeHandlerVersion": self.type_handler_version,
                **({"settings": self.settings} if self.settings else {}),
            },
        }

    def instance_view(self) -> dict[str, Any]:
        """The extension's entry in a VM instance view."""
        ready = self.provisioning_state == "Succeeded"
        return {
            "name": self.name,
            "type": f"{self.publisher}.{self.type}",
            "typeHandlerVersion": self.type_handler_version,
            "statuses": [
                {
                    "code": f"ProvisioningState/{self.provisioning_state.lower()}",
                    "level": "Info" if ready else "Warning",
                    "displayStatus": "Provisioning succeeded"
                    if ready
                    else f"Provisioning {self.provisioning_state}",
                }
            ],
        }


@dataclass
class Machine:
    """A VM (`kind` "vm") or a VM scale set (`kind` "vmss") and where its captures run on this host."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    kind: str = "vm"
    os: str = "Linux"
    interface: str = "lo"
    netns: str | None = None
    power_state: str = "running"
    vm_id: str = ""
    instances: list[str] = field(default_factory=list)
    extensions: dict[str, Extension] = field(default_factory=dict)  # key: lower-case name
    outdated: set[str] = field(default_factory=set)  # scale-set instance ids not on the latest model
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def resource_type(self) -> str:
        """`Microsoft.Compute/virtualMachines` or `.../virtualMachineScaleSets`."""
        return VM_TYPE if self.kind == "vm" else VMSS_TYPE

    @property
    def agent_ready(self) -> bool:
        """Whether the Network Watcher agent extension is installed and provisioned."""
        return any(
            e.is_network_watcher_agent and e.provisioning_state == "Succeeded"
            for e in self.extensions.values()
        )

    def install_agent(self, name: str = NW_EXTENSION_NAME) -> Extension:
        """Add the Network Watcher agent extension for this machine's OS (already provisioned)."""
        extension = Extension(name=name, publisher=NW_PUBLISHER, type=NW_AGENT_TYPES[self.os])
        self.extensions[name.lower()] = extension
        return extension

    def summary(self) -> dict[str, Any]:
        """The admin API's view of the machine."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "location": self.location,
            "os": self.os,
            "interface": self.interface,
            "netns": self.netns,
            "agent": self.agent_ready,
            "powerState": self.power_state,
            **({"instances": list(self.instances)} if self.kind == "vmss" else {}),
        }


def _required_text(props: dict[str, Any], key: str) -> str:
    """`props[key]`, a non-empty string (else InvalidParameter naming `properties.<key>`)."""
    value = props.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"properties.{key} is required.", target=f"properties.{key}")
    return value


def extension_from_body(name: str, body: Any, created: bool) -> Extension:
    """An extension from a PUT body (`Creating`/`Updating` until its operation completes); 400 if invalid."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise InvalidParameter("The request body must hold a 'properties' object.", target="properties")
    publisher, ext_type = _required_text(props, "publisher"), _required_text(props, "type")
    version = props.get("typeHandlerVersion", "1.4")
    if not isinstance(version, str) or not re.match(r"^\d+(\.\d+){0,3}$", version):
        raise InvalidParameter(
            f"properties.typeHandlerVersion {version!r} is not a version.", "properties.typeHandlerVersion"
        )
    if publisher.lower() == NW_PUBLISHER.lower() and ext_type not in NW_AGENT_TYPES.values():
        raise InvalidParameter(
            f"The handler for VM extension type '{publisher}.{ext_type}' has not been found.",
            "properties.type",
        )
    settings = props.get("settings")
    return Extension(
        name=name,
        publisher=publisher,
        type=ext_type,
        type_handler_version=version,
        auto_upgrade_minor_version=bool(props.get("autoUpgradeMinorVersion", True)),
        provisioning_state="Creating" if created else "Updating",
        settings=settings if isinstance(settings, dict) else {},
    )


def machine_from_config(vm: Any, kind: str) -> Machine:
    """A Machine from a `VmConfig`/`ScaleSetConfig`."""
    machine = Machine(
        id=vm.id,
        name=vm.name,
        subscription_id=vm.subscription_id,
        resource_group=vm.resource_group,
        location=vm.location,
        kind=kind,
        os=vm.os,
        interface=vm.interface,
        netns=vm.netns,
        power_state=vm.power_state,
        vm_id=vm.vm_id or str(uuid.uuid5(uuid.NAMESPACE_URL, vm.id.lower())),
        instances=list(getattr(vm, "instances", [])),
    )
    if vm.agent_installed:
        machine.install_agent()
    return machine


def machine_from_spec(spec: Any) -> Machine:
    """A Machine from the admin API's `POST /_devstack/vms` body; ValueError naming the bad field."""
    if not isinstance(spec, dict):
        raise ValueError("the VM spec must be a JSON object")
    known = {"id", "location", "os", "interface", "netns", "agent", "powerState", "instances", "vmId"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    match = MACHINE_ID_RE.match(spec.get("id") or "") if isinstance(spec.get("id"), str) else None
    if match is None:
        raise ValueError(
            "id must be a VM or scale set ARM id: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
            f"Microsoft.Compute/virtualMachines|virtualMachineScaleSets/<name>, got {spec.get('id')!r}"
        )
    if not GUID_RE.match(match["sub"]):
        raise ValueError(f"id: the subscription must be a GUID, got {match['sub']!r}")
    for part in ("rg", "name"):
        if not NAME_RE.match(match[part]):
            raise ValueError(f"id: {match[part]!r} is not a valid Azure resource name")
    kind = "vm" if match["kind"].lower() == "virtualmachines" else "vmss"
    location = region_name(spec.get("location"))
    machine = Machine(
        id=(
            f"/subscriptions/{match['sub'].lower()}/resourceGroups/{match['rg']}/providers/"
            f"{VM_TYPE if kind == 'vm' else VMSS_TYPE}/{match['name']}"
        ),
        name=match["name"],
        subscription_id=match["sub"].lower(),
        resource_group=match["rg"],
        location=location,
        kind=kind,
        os=_choice(spec, "os", "Linux", ("Linux", "Windows")),
        interface=_interface(spec.get("interface", "lo")),
        netns=_netns(spec.get("netns")),
        power_state=_choice(spec, "powerState", "running", tuple(POWER_STATES)).lower(),
        vm_id=_vm_id(spec.get("vmId")),
        instances=_instances(spec, kind, match["name"]),
    )
    machine.vm_id = machine.vm_id or str(uuid.uuid5(uuid.NAMESPACE_URL, machine.id.lower()))
    agent = spec.get("agent", True)
    if not isinstance(agent, bool):
        raise ValueError(f"agent must be true or false, got {agent!r}")
    if agent:
        machine.install_agent()
    return machine


def _choice(spec: dict, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = spec.get(key, default)
    for choice in choices:
        if isinstance(value, str) and value.lower() == choice.lower():
            return choice
    raise ValueError(f"{key} must be one of {', '.join(choices)}, got {value!r}")


def _interface(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9_.:@-]{1,15}$", value):
        raise ValueError(f"interface must be a local network interface name, got {value!r}")
    if not (SYS_NET_DIR / value).exists():
        raise ValueError(f"interface {value!r} does not exist on this host")
    return value


def _netns(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^alertcap-[a-z0-9-]{1,20}$", value):
        raise ValueError(f"netns must look like 'alertcap-<name>', got {value!r}")
    if not (NETNS_DIR / value).exists():
        raise ValueError(f"network namespace {value!r} does not exist (create it through the config)")
    return value


def _vm_id(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not GUID_RE.match(value):
        raise ValueError(f"vmId must be a GUID, got {value!r}")
    return value.lower()


def _instances(spec: dict, kind: str, name: str) -> list[str]:
    value = spec.get("instances")
    if kind == "vm":
        if value is not None:
            raise ValueError("instances is only valid for a virtualMachineScaleSets id")
        return []
    if value is None:
        return [f"{name}_0", f"{name}_1"]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and NAME_RE.match(v) for v in value)
    ):
        raise ValueError(f"instances must be a non-empty list of instance VM names, got {value!r}")
    if len({v.lower() for v in value}) != len(value):
        raise ValueError("instances must not repeat a name")
    return list(value)


def instance_id(machine: Machine, index: int) -> str:
    """The instance id of a scale set instance: the number after the last '_' of its name, or its index."""
    tail = machine.instances[index].rpartition("_")[2]
    return tail if tail.isdigit() else str(index)


def scoped_instances(machine: Machine, scope: dict[str, list[str]]) -> list[str]:
    """The instance VM names a scale-set capture runs on: `scope.include` (all instances when empty) minus
    `scope.exclude`. Entries are instance ids ("3") or instance names ("vmss-web_3"); an entry naming no
    instance is a 400 naming it."""
    by_key: dict[str, str] = {}
    for index, name in enumerate(machine.instances):
        by_key[name.lower()] = name
        by_key[instance_id(machine, index)] = name

    def resolve(key: str) -> list[str]:
        names = []
        for entry in scope.get(key) or []:
            name = by_key.get(entry.lower())
            if name is None:
                raise InvalidParameter(
                    f"properties.scope.{key} names '{entry}', which is not an instance of scale set "
                    f"'{machine.name}' (instances: {', '.join(machine.instances)}).",
                    f"properties.scope.{key}",
                )
            names.append(name)
        return names

    include, exclude = resolve("include"), set(resolve("exclude"))
    chosen = [n for n in (include or machine.instances) if n not in exclude]
    if not chosen:
        raise InvalidParameter("properties.scope leaves no instance to capture.", "properties.scope")
    return list(dict.fromkeys(chosen))


def instance_ids(machine: Machine) -> list[str]:
    """Every instance id of a scale set, in instance order."""
    return [instance_id(machine, i) for i in range(len(machine.instances))]


def _statuses(machine: Machine, time: str) -> list[dict[str, Any]]:
    return [
        {
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "time": time,
        },
        {
            "code": f"PowerState/{machine.power_state}",
            "level": "Info",
            "displayStatus": POWER_STATES[machine.power_state],
        },
    ]


def instance_view(machine: Machine, computer_name: str | None = None) -> dict[str, Any]:
    """The `VirtualMachineInstanceView` body (`statuses` carry ProvisioningState and PowerState)."""
    time = machine.created.isoformat().replace("+00:00", "Z")
    running = machine.power_state == "running"
    return {
        "computerName": computer_name or machine.name,
        "osName": "ubuntu" if machine.os == "Linux" else "Windows Server 2022 Datacenter",
        "osVersion": "22.04" if machine.os == "Linux" else "10.0.20348",
        "vmAgent": {
            "vmAgentVersion": "2.9.1.1" if running else "Unknown",
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded" if running else "ProvisioningState/Unavailable",
                    "level": "Info" if running else "Warning",
                    "displayStatus": "Ready" if running else "Not Ready",
                    "time": time,
                }
            ],
        },
        "extensions": [e.instance_view() for e in machine.extensions.values()],
        "hyperVGeneration": "V2",
        "statuses": _statuses(machine, time),
    }


def _storage_profile(machine: Machine, name: str) -> dict[str, Any]:
    return {
        "imageReference": {
            "publisher": "Canonical" if machine.os == "Linux" else "MicrosoftWindowsServer",
            "offer": "0001-com-ubuntu-server-jammy" if machine.os == "Linux" else "WindowsServer",
            "sku": "22_04-lts-gen2" if machine.os == "Linux" else "2022-datacenter-azure-edition",
            "version": "latest",
        },
        "osDisk": {
            "osType": machine.os,
            "name": f"{name}_OsDisk_1",
            "createOption": "FromImage",
            "caching": "ReadWrite",
            "managedDisk": {"storageAccountType": "Premium_LRS"},
            "deleteOption": "Delete",
            "diskSizeGB": 30,
        },
        "dataDisks": [],
    }


def _os_profile(machine: Machine, computer_name: str) -> dict[str, Any]:
    profile: dict[str, Any] = {"computerName": computer_name, "adminUsername": "azureuser"}
    if machine.os == "Linux":
        profile["linuxConfiguration"] = {"disablePasswordAuthentication": True, "provisionVMAgent": True}
    else:
        profile["windowsConfiguration"] = {"provisionVMAgent": True, "enableAutomaticUpdates": True}
    return profile


def vm_body(machine: Machine, expand_instance_view: bool = False) -> dict[str, Any]:
    """The `VirtualMachine` body, extensions under `resources[]` as ARM returns them."""
    rg_prefix = f"/subscriptions/{machine.subscription_id}/resourceGroups/{machine.resource_group}/providers"
    properties: dict[str, Any] = {
        "vmId": machine.vm_id,
        "hardwareProfile": {"vmSize": "Standard_B2s"},
        "storageProfile": _storage_profile(machine, machine.name),
        "osProfile": _os_profile(machine, machine.name),
        "networkProfile": {
            "networkInterfaces": [
                {"id": f"{rg_prefix}/Microsoft.Network/networkInterfaces/{machine.name}-nic"}
            ]
        },
        "provisioningState": "Succeeded",
        "timeCreated": machine.created.isoformat().replace("+00:00", "Z"),
    }
    if expand_instance_view:
        properties["instanceView"] = instance_view(machine)
    body: dict[str, Any] = {
        "name": machine.name,
        "id": machine.id,
        "type": VM_TYPE,
        "location": machine.location,
        "tags": {},
        "properties": properties,
    }
    if machine.extensions:
        body["resources"] = [e.body(machine) for e in machine.extensions.values()]
    return body


def vmss_body(machine: Machine) -> dict[str, Any]:
    """The `VirtualMachineScaleSet` body."""
    return {
        "name": machine.name,
        "id": machine.id,
        "type": VMSS_TYPE,
        "location": machine.location,
        "tags": {},
        "sku": {"name": "Standard_B2s", "tier": "Standard", "capacity": len(machine.instances)},
        "properties": {
            "uniqueId": machine.vm_id,
            "provisioningState": "Succeeded",
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"},
            "overprovision": False,
            "virtualMachineProfile": {
                "osProfile": {**_os_profile(machine, ""), "computerNamePrefix": machine.name[:9]},
                "storageProfile": _storage_profile(machine, machine.name),
                "extensionProfile": {
                    "extensions": [
                        {"name": e.name, "properties": e.body(machine)["properties"]}
                        for e in machine.extensions.values()
                    ]
                },
            },
            "timeCreated": machine.created.isoformat().replace("+00:00", "Z"),
        },
    }


def vmss_vm_bodies(machine: Machine, expand_instance_view: bool = False) -> list[dict[str, Any]]:
    """The `VirtualMachineScaleSetVM` bodies of a scale set's instances."""
    bodies = []
    for index, name in enumerate(machine.instances):
        iid = instance_id(machine, index)
        properties: dict[str, Any] = {
            "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{machine.id.lower()}/{iid}")),
            "latestModelApplied": iid not in machine.outdated,
            "provisioningState": "Succeeded",
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": _storage_profile(machine, name),
            "osProfile": _os_profile(machine, name),
            "timeCreated": machine.created.isoformat().replace("+00:00", "Z"),
        }
        if expand_instance_view:
            properties["instanceView"] = {**instance_view(machine, name), "platformUpdateDomain": index}
        bodies.append(
            {
                "name": name,
                "id": f"{machine.id}/virtualMachines/{iid}",
                "type": f"{VMSS_TYPE}/virtualMachines",
                "location": machine.location,
                "instanceId": iid,
                "sku": {"name": "Standard_B2s", "tier": "Standard"},
                "properties": properties,
                "resources": [e.body(machine) for e in machine.extensions.values()],
            }
        )
    return bodies
