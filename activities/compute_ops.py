"""Compute reads and the Network Watcher agent install (one ARM call or a short sequence each)."""

from __future__ import annotations

from typing import Any

from activities import clients
from activities.scale_set_agent import AGENT_INSTANCE_NAME, AGENT_PUBLISHER, AGENT_TYPES, is_agent
from core.arm_ids import parse_resource_id
from core.outcome import Outcome
from core.targets import AZURE_VMSS


def _power_state(statuses: list[dict[str, Any]] | None) -> str:
    for status in statuses or []:
        code = str(status.get("code", ""))
        if code.lower().startswith("powerstate/"):
            return code.split("/", 1)[1].lower()
    return "unknown"


def locate_target(target_id: str, target_type: str) -> Outcome:
    """Region, OS and power state of the VM (or scale set)."""
    rid = parse_resource_id(target_id)
    client = clients.compute(rid.subscription_id)
    if target_type == AZURE_VMSS:
        vmss = client.virtual_machine_scale_sets.get(rid.resource_group, rid.name).as_dict()
        profile = vmss.get("properties", {}).get("virtualMachineProfile", {})
        os_type = profile.get("storageProfile", {}).get("osDisk", {}).get("osType", "")
        return Outcome.success(location=vmss["location"].lower(), os_type=os_type.lower(),
                               power_state="running", name=vmss.get("name", rid.name))
    vm = client.virtual_machines.get(rid.resource_group, rid.name, expand="instanceView").as_dict()
    props = vm.get("properties", {})
    view = props.get("instanceView")
    if view is None:
        view = client.virtual_machines.instance_view(rid.resource_group, rid.name).as_dict()
    os_type = props.get("storageProfile", {}).get("osDisk", {}).get("osType") or view.get("osName", "")
    return Outcome.success(location=vm["location"].lower(), os_type=str(os_type).lower(),
                           power_state=_power_state(view.get("statuses")), name=vm.get("name", rid.name),
                           vm_id=props.get("vmId", ""))


def check_agent(target_id: str, target_type: str) -> Outcome:
    """Whether the Network Watcher agent extension is installed on a VM (matched by publisher and type)."""
    rid = parse_resource_id(target_id)
    client = clients.compute(rid.subscription_id)
    listed = client.virtual_machine_extensions.list(rid.resource_group, rid.name).as_dict()
    for ext in listed.get("value", []):
        props = ext.get("properties", {})
        if is_agent(props.get("publisher"), props.get("type")):
            state = str(props.get("provisioningState", ""))
            return Outcome.success(installed=state.lower() == "succeeded", name=ext.get("name", ""),
                                   provisioning_state=state)
    return Outcome.success(installed=False, name="", provisioning_state="")


def install_agent(target_id: str, target_type: str, location: str, os_type: str) -> Outcome:
    """Install the agent extension on a VM and wait for the deployment to finish."""
    ext_type = AGENT_TYPES.get(os_type.lower())
    if ext_type is None:
        return Outcome.failure("UnknownOsType", f"cannot choose the agent for OS type {os_type!r}")
    rid = parse_resource_id(target_id)
    body = {"location": location, "properties": {
        "publisher": AGENT_PUBLISHER, "type": ext_type, "typeHandlerVersion": "1.4",
        "autoUpgradeMinorVersion": True}}
    poller = clients.compute(rid.subscription_id).virtual_machine_extensions.begin_create_or_update(
        rid.resource_group, rid.name, AGENT_INSTANCE_NAME, body, polling_interval=clients.polling_interval())
    result = poller.result().as_dict()
    state = str(result.get("properties", {}).get("provisioningState", ""))
    if state.lower() != "succeeded":
        return Outcome.failure("AgentInstallFailed", f"extension provisioning state {state!r}")
    return Outcome.success(name=result.get("name", AGENT_INSTANCE_NAME), provisioning_state=state)
