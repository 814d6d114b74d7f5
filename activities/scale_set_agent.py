"""The Network Watcher agent on a scale set: on its model, and on the instances a capture runs on.

A scale set's extensions live in its model (``virtualMachineProfile.extensionProfile``). Adding one changes
the model only; an instance gets it when it is brought to the latest model: by Azure under an ``Automatic``
upgrade policy, by a rolling upgrade under ``Rolling``, and under ``Manual`` only through the
``manualupgrade`` action (``az vmss update-instances``; https://learn.microsoft.com/azure/
virtual-machine-scale-sets/virtual-machine-scale-sets-perform-manual-upgrades). Bringing an instance to the
latest model applies *every* pending model change, not only ours (a new image or configuration can reimage
or restart it), so alertcap upgrades only instances that ran the latest model before it added the agent,
and never starts a rolling upgrade: in those cases the run fails saying what to run.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.compute.models import VirtualMachineScaleSetExtension

from activities import clients
from core.arm_ids import parse_resource_id
from core.compute_contract import AgentCheckRequest, AgentInstalled, AgentInstallRequest, AgentState
from core.outcome import Outcome

AGENT_PUBLISHER = "Microsoft.Azure.NetworkWatcher"
AGENT_TYPES = {"windows": "NetworkWatcherAgentWindows", "linux": "NetworkWatcherAgentLinux"}
AGENT_INSTANCE_NAME = "AzureNetworkWatcherExtension"


def is_agent(publisher: object, ext_type: object) -> bool:
    """True for the Network Watcher agent extension (matched by publisher and type, never by name)."""
    return (str(publisher).lower() == AGENT_PUBLISHER.lower()
            and str(ext_type).lower() in {t.lower() for t in AGENT_TYPES.values()})


def _props(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("properties") or {}


def _model_agent(vmss: dict[str, Any]) -> dict[str, Any] | None:
    profile = _props(vmss).get("virtualMachineProfile") or {}
    for ext in (profile.get("extensionProfile") or {}).get("extensions") or []:
        if is_agent(_props(ext).get("publisher"), _props(ext).get("type")):
            return ext
    return None


def _instances(client: Any, group: str, name: str, scope: tuple[str, ...]) -> list[dict[str, Any]]:
    """The instances a capture with ``scope`` (instance ids or names; empty = every instance) runs on."""
    wanted = {s.lower() for s in scope}
    bodies = [vm.as_dict() for vm in client.virtual_machine_scale_set_vms.list(group, name)]
    return [b for b in bodies if not wanted or str(b.get("instanceId", "")).lower() in wanted
            or str(b.get("name", "")).lower() in wanted]


def _outdated(instances: list[dict[str, Any]]) -> list[str]:
    return [str(i.get("instanceId")) for i in instances if _props(i).get("latestModelApplied") is False]


def check_scale_set_agent(request: AgentCheckRequest) -> Outcome:
    """Installed once the model has the agent (provisioned) and every captured instance runs that model."""
    rid = parse_resource_id(request.target_id)
    client = clients.compute(rid.subscription_id)
    ext = _model_agent(client.virtual_machine_scale_sets.get(rid.resource_group, rid.name).as_dict())
    if ext is None:
        return Outcome.of(AgentState(False))
    outdated = _outdated(_instances(client, rid.resource_group, rid.name, request.scope_include))
    state = str(_props(ext).get("provisioningState") or "")
    installed = state.lower() == "succeeded" and not outdated
    return Outcome.of(AgentState(installed, str(ext.get("name", "")), state, tuple(outdated)))


def install_scale_set_agent(request: AgentInstallRequest) -> Outcome:
    """Add the agent to the scale set's model, then bring the captured instances to the latest model.

    Refused (a failure naming what to run) when an instance already lagged behind the model, or when the
    upgrade policy is ``Rolling``: both would apply changes that are not ours.
    """
    ext_type = AGENT_TYPES.get(request.os_type.lower())
    if ext_type is None:
        return Outcome.failure("UnknownOsType", f"cannot choose the agent for OS type {request.os_type!r}")
    rid = parse_resource_id(request.target_id)
    client = clients.compute(rid.subscription_id)
    vmss = client.virtual_machine_scale_sets.get(rid.resource_group, rid.name).as_dict()
    mode = str((_props(vmss).get("upgradePolicy") or {}).get("mode") or "Manual")
    instances = _instances(client, rid.resource_group, rid.name, request.scope_include)
    ids = [str(i.get("instanceId")) for i in instances]
    lagging = _outdated(instances)
    group = rid.resource_group
    update = f"az vmss update-instances --resource-group {group} --name {rid.name} --instance-ids"
    if lagging:
        return Outcome.failure("ScaleSetModelPending", (
            f"instances {', '.join(lagging)} of scale set {rid.name} do not run its latest model: upgrading "
            "them would also apply the other pending model changes (and may reimage or restart them); "
            f"review and run: {update} {' '.join(lagging)}"))
    if mode.lower() == "rolling":
        return Outcome.failure("ScaleSetRollingUpgrade", (
            f"scale set {rid.name} uses a Rolling upgrade policy: alertcap does not start a rolling upgrade. "
            f"Add the agent with: az vmss extension set --resource-group {rid.resource_group} --vmss-name "
            f"{rid.name} --name {ext_type} --publisher {AGENT_PUBLISHER}, then let the rolling upgrade "
            "apply it"))
    if _model_agent(vmss) is None:
        body = VirtualMachineScaleSetExtension({"properties": {
            "publisher": AGENT_PUBLISHER, "type": ext_type, "typeHandlerVersion": "1.4",
            "autoUpgradeMinorVersion": True}})
        client.virtual_machine_scale_set_extensions.begin_create_or_update(
            rid.resource_group, rid.name, AGENT_INSTANCE_NAME, body,
            polling_interval=clients.polling_interval()).result()
    if ids:
        client.virtual_machine_scale_sets.begin_update_instances(
            rid.resource_group, rid.name, {"instanceIds": ids}, polling_interval=clients.polling_interval()
        ).result()
    return Outcome.of(AgentInstalled(AGENT_INSTANCE_NAME, "Succeeded", tuple(ids), mode))
