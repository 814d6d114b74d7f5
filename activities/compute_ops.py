"""Compute reads and the Network Watcher agent install (one ARM call or a short sequence each).

A VM and a scale set differ in every step (where the OS type is, where extensions live), so each kind has
its own three steps, and the activities choose the kind in one place: :data:`STEPS_BY_TARGET_TYPE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.mgmt.compute.models import VirtualMachineExtension

from activities import clients
from activities.scale_set_agent import (
    AGENT_INSTANCE_NAME,
    AGENT_PUBLISHER,
    AGENT_TYPES,
    check_scale_set_agent,
    install_scale_set_agent,
    is_agent,
)
from core.arm_ids import parse_resource_id
from core.compute_contract import (
    AgentCheckRequest,
    AgentInstalled,
    AgentInstallRequest,
    AgentState,
    LocatedTarget,
    LocateRequest,
)
from core.outcome import Outcome
from core.targets import AZURE_VM, AZURE_VMSS


def _power_state(statuses: list[dict[str, Any]] | None) -> str:
    for status in statuses or []:
        code = str(status.get("code", ""))
        if code.lower().startswith("powerstate/"):
            return code.split("/", 1)[1].lower()
    return "unknown"


def _locate_vm(request: LocateRequest) -> Outcome:
    rid = parse_resource_id(request.target_id)
    client = clients.compute(rid.subscription_id)
    vm = client.virtual_machines.get(rid.resource_group, rid.name, expand="instanceView").as_dict()
    props = vm.get("properties", {})
    view = props.get("instanceView")
    if view is None:
        view = client.virtual_machines.instance_view(rid.resource_group, rid.name).as_dict()
    os_type = props.get("storageProfile", {}).get("osDisk", {}).get("osType") or view.get("osName", "")
    located = LocatedTarget(vm["location"].lower(), str(os_type).lower(), _power_state(view.get("statuses")),
                            str(vm.get("name", rid.name)), str(props.get("vmId", "")))
    return Outcome.of(located)


def _locate_scale_set(request: LocateRequest) -> Outcome:
    rid = parse_resource_id(request.target_id)
    vmss = clients.compute(rid.subscription_id).virtual_machine_scale_sets.get(
        rid.resource_group, rid.name).as_dict()
    profile = vmss.get("properties", {}).get("virtualMachineProfile", {})
    os_type = profile.get("storageProfile", {}).get("osDisk", {}).get("osType", "")
    name = str(vmss.get("name", rid.name))
    return Outcome.of(LocatedTarget(vmss["location"].lower(), str(os_type).lower(), "running", name))


def _check_vm_agent(request: AgentCheckRequest) -> Outcome:
    """Whether the Network Watcher agent extension is installed on a VM (matched by publisher and type)."""
    rid = parse_resource_id(request.target_id)
    client = clients.compute(rid.subscription_id)
    listed = client.virtual_machine_extensions.list(rid.resource_group, rid.name).as_dict()
    for ext in listed.get("value", []):
        props = ext.get("properties", {})
        if is_agent(props.get("publisher"), props.get("type")):
            state = str(props.get("provisioningState", ""))
            return Outcome.of(AgentState(state.lower() == "succeeded", ext.get("name", ""), state))
    return Outcome.of(AgentState(False))


def _install_vm_agent(request: AgentInstallRequest) -> Outcome:
    """Install the agent extension on a VM and wait for the deployment to finish."""
    ext_type = AGENT_TYPES.get(request.os_type.lower())
    if ext_type is None:
        return Outcome.failure("UnknownOsType", f"cannot choose the agent for OS type {request.os_type!r}")
    rid = parse_resource_id(request.target_id)
    body = VirtualMachineExtension({"location": request.location, "properties": {
        "publisher": AGENT_PUBLISHER, "type": ext_type, "typeHandlerVersion": "1.4",
        "autoUpgradeMinorVersion": True}})
    poller = clients.compute(rid.subscription_id).virtual_machine_extensions.begin_create_or_update(
        rid.resource_group, rid.name, AGENT_INSTANCE_NAME, body, polling_interval=clients.polling_interval())
    result = poller.result().as_dict()
    state = str(result.get("properties", {}).get("provisioningState", ""))
    if state.lower() != "succeeded":
        return Outcome.failure("AgentInstallFailed", f"extension provisioning state {state!r}")
    return Outcome.of(AgentInstalled(result.get("name", AGENT_INSTANCE_NAME), state))


@dataclass(frozen=True)
class TargetSteps:
    """The compute steps of one kind of target."""

    locate: Callable[[LocateRequest], Outcome]
    check_agent: Callable[[AgentCheckRequest], Outcome]
    install_agent: Callable[[AgentInstallRequest], Outcome]


STEPS_BY_TARGET_TYPE = {
    AZURE_VM: TargetSteps(_locate_vm, _check_vm_agent, _install_vm_agent),
    AZURE_VMSS: TargetSteps(_locate_scale_set, check_scale_set_agent, install_scale_set_agent),
}


def locate_target(request: LocateRequest) -> Outcome:
    """Region, OS and power state of the VM (or scale set)."""
    return STEPS_BY_TARGET_TYPE[request.target_type].locate(request)


def check_agent(request: AgentCheckRequest) -> Outcome:
    """Whether the Network Watcher agent extension is installed (on a scale set: on its model and on the
    captured instances)."""
    return STEPS_BY_TARGET_TYPE[request.target_type].check_agent(request)


def install_agent(request: AgentInstallRequest) -> Outcome:
    """Install the Network Watcher agent extension (on a scale set: model, then the captured instances)."""
    return STEPS_BY_TARGET_TYPE[request.target_type].install_agent(request)
