"""VMs, extensions, scale sets and generic resource reads through the real azure-mgmt-compute 39 and
azure-mgmt-resource clients, as the product reads them."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from devstack.arm.testing import ArmClients
from devstack.testing import AdminError

AGENT = {
    "location": "eastus",
    "properties": {
        "publisher": "Microsoft.Azure.NetworkWatcher",
        "type": "NetworkWatcherAgentLinux",
        "typeHandlerVersion": "1.4",
        "autoUpgradeMinorVersion": True,
    },
}


@pytest.fixture
def arm(azure_env) -> ArmClients:
    return ArmClients.for_state(azure_env)


@pytest.fixture
def agent_installer(arm, devstack_admin) -> None:
    """The role infra/ assigns when agentAutoInstall is true (virtualMachines/extensions/write)."""
    role = "alertcap network watcher agent installer"
    subscription = f"/subscriptions/{arm.state.subscription_id}"
    devstack_admin.add_role_assignment(arm.state.principal_id, role, subscription)


def test_vm_get_with_instance_view(arm):
    vm = arm.compute.virtual_machines.get("rg-alertcap-demo", "vm-web-01", expand="instanceView")
    assert vm.id == arm.vm_id("rg-alertcap-demo", "vm-web-01") and vm.location == "westeurope"
    assert vm.storage_profile.os_disk.os_type == "Linux" and len(vm.vm_id) == 36
    assert [s.code for s in vm.instance_view.statuses] == [
        "ProvisioningState/succeeded",
        "PowerState/running",
    ]
    [extension] = vm.resources
    assert (extension.properties.publisher, extension.properties.type) == (
        "Microsoft.Azure.NetworkWatcher",
        "NetworkWatcherAgentLinux",
    )
    plain = arm.compute.virtual_machines.get("rg-alertcap-demo", "vm-web-01")
    assert plain.instance_view is None


def test_instance_view_reports_power_state_of_added_vm(arm, devstack_admin):
    vm_id = f"/subscriptions/{arm.state.subscription_id}/resourceGroups/rg-win/providers/Microsoft.Compute/"
    vm_id += "virtualMachines/vm-win"
    added = devstack_admin.add_vm(
        {"id": vm_id, "location": "westus2", "os": "Windows", "powerState": "stopped"}
    )
    assert added["agent"] is True and added["kind"] == "vm"
    view = arm.compute.virtual_machines.instance_view("rg-win", "vm-win")
    assert "PowerState/stopped" in [s.code for s in view.statuses]
    vm = arm.compute.virtual_machines.get("rg-win", "vm-win")
    assert vm.storage_profile.os_disk.os_type == "Windows"
    assert [
        e.properties.type for e in arm.compute.virtual_machine_extensions.list("rg-win", "vm-win").value
    ] == ["NetworkWatcherAgentWindows"]


def test_install_agent_is_an_lro_and_unblocks_captures(arm, agent_installer):
    extensions = arm.compute.virtual_machine_extensions
    assert extensions.list("rg-alertcap-east", "vm-noagent").value == []
    poller = extensions.begin_create_or_update(
        "rg-alertcap-east", "vm-noagent", "AzureNetworkWatcherExtension", AGENT
    )
    installed = poller.result()
    assert installed.provisioning_state == "Succeeded" and installed.type_handler_version == "1.4"
    got = extensions.get("rg-alertcap-east", "vm-noagent", "AzureNetworkWatcherExtension")
    assert got.publisher == "Microsoft.Azure.NetworkWatcher" and got.provisioning_state == "Succeeded"
    created = arm.create("pc-after-install", arm.vm_id("rg-alertcap-east", "vm-noagent"), region="eastus")
    assert created.provisioning_state == "Succeeded"


def test_extension_wire_is_201_with_compute_async_operation(arm, devstack_admin, agent_installer):
    from devstack.arm.testing import app_token, raw_arm

    path = f"/subscriptions/{arm.state.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
    path += "Microsoft.Compute/virtualMachines/vm-noagent/extensions/NetworkWatcherAgentLinux"
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        response = http.put(path, params={"api-version": "2024-11-01"}, json=AGENT)
        assert response.status_code == 201
        assert response.json()["properties"]["provisioningState"] == "Creating"
        operation = response.headers["Azure-AsyncOperation"]
        assert "/providers/Microsoft.Compute/locations/eastus/operations/" in operation
        assert http.get(operation).json()["status"] == "InProgress"
        assert http.get(operation).json()["status"] == "Succeeded"
        bad = http.put(
            path, params={"api-version": "2024-11-01"}, json={"location": "eastus", "properties": {}}
        )
        assert bad.status_code == 400 and "publisher" in bad.json()["error"]["message"]


def test_missing_vm_and_extension_are_404(arm):
    with pytest.raises(ResourceNotFoundError, match="ResourceNotFound"):
        arm.compute.virtual_machines.get("rg-alertcap-demo", "vm-ghost")
    with pytest.raises(ResourceNotFoundError):
        arm.compute.virtual_machine_extensions.get("rg-alertcap-demo", "vm-web-01", "nope")


def test_scale_set_and_instances(arm):
    vmss = arm.compute.virtual_machine_scale_sets.get("rg-alertcap-east", "vmss-web")
    assert vmss.location == "eastus" and vmss.sku.capacity == 3
    assert vmss.virtual_machine_profile.storage_profile.os_disk.os_type == "Linux"
    instances = list(arm.compute.virtual_machine_scale_set_vms.list("rg-alertcap-east", "vmss-web"))
    expected = [("vmss-web_0", "0"), ("vmss-web_1", "1"), ("vmss-web_3", "3")]
    assert [(i.name, i.instance_id) for i in instances] == expected
    assert instances[0].id.endswith("/virtualMachineScaleSets/vmss-web/virtualMachines/0")


def test_added_scale_set(arm, devstack_admin):
    vmss_id = f"/subscriptions/{arm.state.subscription_id}/resourceGroups/rg-ss/providers/Microsoft.Compute/"
    vmss_id += "virtualMachineScaleSets/ss1"
    devstack_admin.add_vm({"id": vmss_id, "location": "eastus", "instances": ["ss1_0", "ss1_1", "ss1_2"]})
    names = [i.name for i in arm.compute.virtual_machine_scale_set_vms.list("rg-ss", "ss1")]
    assert names == ["ss1_0", "ss1_1", "ss1_2"]


@pytest.mark.parametrize(
    ("spec", "mentions"),
    [
        ({"location": "eastus"}, "id must be"),
        ({"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v"}, "GUID"),
        ({"id": "VMID"}, "location"),
        ({"id": "VMID", "location": "eastus", "powerState": "sleeping"}, "powerState"),
        ({"id": "VMID", "location": "eastus", "interface": "nosuchif0"}, "does not exist"),
        ({"id": "VMID", "location": "eastus", "agent": "yes"}, "agent"),
        ({"id": "VMID", "location": "eastus", "instances": ["a_0"]}, "ScaleSets"),
        ({"id": "VMID", "location": "eastus", "colour": "red"}, "colour"),
    ],
)
def test_add_vm_rejects_bad_specs(arm, devstack_admin, spec, mentions):
    vm_id = f"/subscriptions/{arm.state.subscription_id}/resourceGroups/rg/providers/Microsoft.Compute/"
    vm_id += "virtualMachines/v1"
    spec = {k: vm_id if v == "VMID" else v for k, v in spec.items()}
    with pytest.raises(AdminError) as err:
        devstack_admin.add_vm(spec)
    assert err.value.response.status_code == 400 and mentions in err.value.response.json()["error"]["message"]


def test_generic_get_by_id_any_casing(arm):
    vm_id = arm.vm_id("rg-alertcap-demo", "vm-web-01")
    for resource_id in (vm_id, vm_id.lower()):
        generic = arm.resources.resources.get_by_id(resource_id, api_version="2024-11-01")
        assert generic.id == vm_id and generic.type == "Microsoft.Compute/virtualMachines"
        assert generic.location == "westeurope"
        assert generic.properties["storageProfile"]["osDisk"]["osType"] == "Linux"
    extension = arm.resources.resources.get_by_id(
        f"{vm_id}/extensions/AzureNetworkWatcherExtension", api_version="2024-11-01"
    )
    assert extension.properties["publisher"] == "Microsoft.Azure.NetworkWatcher"
    with pytest.raises(ResourceNotFoundError):
        arm.resources.resources.get_by_id(vm_id + "-ghost", api_version="2024-11-01")


def test_generic_list_with_resource_type_filter(arm):
    vms = arm.resources.resources.list(filter="resourceType eq 'Microsoft.Compute/virtualMachines'")
    assert sorted(r.name for r in vms) == ["vm-demo", "vm-noagent", "vm-web-01"]
    east = arm.resources.resources.list(
        filter="resourceType eq 'Microsoft.Compute/virtualMachines' and location eq 'eastus'"
    )
    assert [r.name for r in east] == ["vm-noagent"]
    watchers = list(
        arm.resources.resources.list(filter="resourceType eq 'Microsoft.Network/networkWatchers'")
    )
    assert len(watchers) == 2
    in_group = arm.resources.resources.list_by_resource_group("rg-alertcap-east")
    assert {r.type for r in in_group} >= {
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/virtualMachineScaleSets",
    }
    with pytest.raises(Exception, match="InvalidFilterInQueryString"):
        list(arm.resources.resources.list(filter="substringof('vm', name)"))
