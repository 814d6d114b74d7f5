"""The ARM emulator's routes. Each route's `name` is the REST spec's operationId (the fault injector
keys on it).

ARM paths are case-insensitive (azure-mgmt-resource sends `/resourcegroups/`, alert payloads carry lower-cased
ids): `ArmRouter` matches the path's keyword segments in any casing. Any other GET falls through to
`Resources_GetById`, which resolves ids case-insensitively.
"""

from __future__ import annotations

from aiohttp import web

from devstack.arm.responses import ArmResponses

KEYWORDS = {
    word.lower(): word
    for word in [
        "subscriptions",
        "resourceGroups",
        "providers",
        "locations",
        "operations",
        "operationResults",
        "resources",
        "Microsoft.Network",
        "networkWatchers",
        "packetCaptures",
        "stop",
        "queryStatus",
        "Microsoft.Compute",
        "virtualMachines",
        "virtualMachineScaleSets",
        "extensions",
        "instanceView",
        "manualupgrade",
    ]
}
SUB = "/subscriptions/{sub}"
RG = SUB + "/resourceGroups/{rg}"
NW = RG + "/providers/Microsoft.Network/networkWatchers"
PC = NW + "/{nw}/packetCaptures"
VM = RG + "/providers/Microsoft.Compute/virtualMachines/{vm}"
VMSS = RG + "/providers/Microsoft.Compute/virtualMachineScaleSets/{vm}"
OPS = SUB + "/providers/{provider}/locations/{location}"


def routes(r: ArmResponses) -> list[web.AbstractRouteDef]:
    """Every route, most specific first; the catch-all GET is last."""
    return [
        web.get(
            SUB + "/providers/Microsoft.Network/networkWatchers",
            r.network_watchers_list_all,
            name="NetworkWatchers_ListAll",
        ),
        web.get(NW, r.network_watchers_list, name="NetworkWatchers_List"),
        web.get(NW + "/{nw}", r.network_watchers_get, name="NetworkWatchers_Get"),
        web.put(NW + "/{nw}", r.network_watchers_create_or_update, name="NetworkWatchers_CreateOrUpdate"),
        web.get(PC, r.packet_captures_list, name="PacketCaptures_List"),
        web.put(PC + "/{name}", r.packet_captures_create, name="PacketCaptures_Create"),
        web.get(PC + "/{name}", r.packet_captures_get, name="PacketCaptures_Get"),
        web.delete(PC + "/{name}", r.packet_captures_delete, name="PacketCaptures_Delete"),
        web.post(PC + "/{name}/stop", r.packet_captures_stop, name="PacketCaptures_Stop"),
        web.post(PC + "/{name}/queryStatus", r.packet_captures_get_status, name="PacketCaptures_GetStatus"),
        web.get(OPS + "/operations/{op}", r.async_operations_get, name="AsyncOperations_Get"),
        web.get(
            OPS + "/operationResults/{op}", r.async_operation_results_get, name="AsyncOperationResults_Get"
        ),
        web.get(VM, r.virtual_machines_get, name="VirtualMachines_Get"),
        web.get(VM + "/instanceView", r.virtual_machines_instance_view, name="VirtualMachines_InstanceView"),
        web.get(VM + "/extensions", r.virtual_machine_extensions_list, name="VirtualMachineExtensions_List"),
        web.get(
            VM + "/extensions/{ext}", r.virtual_machine_extensions_get, name="VirtualMachineExtensions_Get"
        ),
        web.put(
            VM + "/extensions/{ext}",
            r.virtual_machine_extensions_create_or_update,
            name="VirtualMachineExtensions_CreateOrUpdate",
        ),
        web.get(VMSS, r.virtual_machine_scale_sets_get, name="VirtualMachineScaleSets_Get"),
        web.put(
            VMSS + "/extensions/{ext}",
            r.virtual_machine_scale_set_extensions_create_or_update,
            name="VirtualMachineScaleSetExtensions_CreateOrUpdate",
        ),
        web.post(
            VMSS + "/manualupgrade",
            r.virtual_machine_scale_sets_update_instances,
            name="VirtualMachineScaleSets_UpdateInstances",
        ),
        web.get(
            VMSS + "/virtualMachines",
            r.virtual_machine_scale_set_vms_list,
            name="VirtualMachineScaleSetVMs_List",
        ),
        web.head(RG, r.resource_groups_check_existence, name="ResourceGroups_CheckExistence"),
        web.get(RG, r.resource_groups_get, name="ResourceGroups_Get", allow_head=False),
        web.put(RG, r.resource_groups_create_or_update, name="ResourceGroups_CreateOrUpdate"),
        web.get(SUB + "/resources", r.resources_list, name="Resources_List"),
        web.get(RG + "/resources", r.resources_list, name="Resources_ListByResourceGroup"),
        web.get("/{tail:.*}", r.resources_get_by_id, name="Resources_GetById"),
        web.route("*", "/{tail:.*}", r.not_found, name="Unknown"),
    ]


class ArmRouter(web.UrlDispatcher):
    """Routes with ARM's case-insensitive keywords: `/resourcegroups/` finds the `/resourceGroups/` route."""

    async def resolve(self, request: web.Request) -> web.UrlMappingMatchInfo:
        path = request.rel_url.path
        canonical = "/".join(KEYWORDS.get(part.lower(), part) for part in path.split("/"))
        if canonical != path:
            request = request.clone(rel_url=request.rel_url.with_path(canonical))
        return await super().resolve(request)
