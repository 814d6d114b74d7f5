"""Regions without a Network Watcher and creating one, through the real azure-mgmt-resource and
azure-mgmt-network SDKs against the devstack: resource groups, watchers, and the RBAC each write needs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from devstack.arm.testing import WATCHER_RG, ArmClients

REGION = "southafricanorth"
NW = f"NetworkWatcher_{REGION}"


@pytest.fixture
def arm(azure_env) -> ArmClients:
    return ArmClients.for_state(azure_env)


@pytest.fixture
def watcherless_vm(arm, devstack_admin) -> str:
    vm = arm.vm_id("rg-opted-out", "vm-nowatcher")
    devstack_admin.add_vm({"id": vm, "location": REGION, "networkWatcher": False})
    return vm


def test_a_region_that_opted_out_has_no_watcher(arm, watcherless_vm):
    names = {w.name for w in arm.network.network_watchers.list_all()}
    assert NW not in names and "NetworkWatcher_westeurope" in names
    with pytest.raises(ResourceNotFoundError):
        arm.network.network_watchers.get(WATCHER_RG, NW)


def test_creating_a_watcher_needs_its_write_action_then_is_idempotent(arm, watcherless_vm, devstack_admin):
    with pytest.raises(HttpResponseError) as denied:
        arm.network.network_watchers.create_or_update(WATCHER_RG, NW, {"location": REGION})
    assert denied.value.status_code == 403 and "Microsoft.Network/networkWatchers/write" in str(denied.value)
    sub = f"/subscriptions/{arm.state.subscription_id}"
    devstack_admin.add_role_assignment(arm.state.principal_id, "Network Contributor", sub)
    created = arm.network.network_watchers.create_or_update(WATCHER_RG, NW, {"location": REGION})
    assert created.name == NW and created.location == REGION and created.provisioning_state == "Succeeded"
    again = arm.network.network_watchers.create_or_update(WATCHER_RG, NW, {"location": "South Africa North"})
    assert again.id == created.id
    assert NW in {w.name for w in arm.network.network_watchers.list_all()}
    with pytest.raises(HttpResponseError) as wrong:
        arm.network.network_watchers.create_or_update("rg-opted-out", "my-watcher", {"location": REGION})
    assert wrong.value.status_code == 400 and "NetworkWatcher_southafricanorth" in str(wrong.value)
    with pytest.raises(HttpResponseError) as no_region:
        arm.network.network_watchers.create_or_update(WATCHER_RG, NW, {"location": "not a region!"})
    assert no_region.value.status_code == 400


def test_resource_groups_are_created_with_their_write_action_and_keep_their_location(arm, devstack_admin):
    groups = arm.resources.resource_groups
    assert groups.check_existence(WATCHER_RG) is True  # the default watchers live there
    assert groups.check_existence("rg-e-new") is False
    with pytest.raises(HttpResponseError) as denied:
        groups.create_or_update("rg-e-new", {"location": "westeurope"})
    assert denied.value.status_code == 403
    assert "Microsoft.Resources/subscriptions/resourceGroups/write" in str(denied.value)
    devstack_admin.add_role_assignment(arm.state.principal_id, "Contributor",
                                       f"/subscriptions/{arm.state.subscription_id}")
    created = groups.create_or_update("rg-e-new", {"location": "westeurope"})
    assert created.name == "rg-e-new" and created.location == "westeurope"
    assert groups.check_existence("rg-e-new") is True and groups.get("rg-e-new").id == created.id
    with pytest.raises(HttpResponseError) as moved:
        groups.create_or_update("rg-e-new", {"location": "eastus"})
    assert moved.value.status_code == 409 and moved.value.error.code == "InvalidResourceGroupLocation"


def test_reset_forgets_created_watchers_and_groups(arm, watcherless_vm, devstack_admin):
    devstack_admin.add_role_assignment(arm.state.principal_id, "Contributor",
                                       f"/subscriptions/{arm.state.subscription_id}")
    arm.network.network_watchers.create_or_update(WATCHER_RG, NW, {"location": REGION})
    arm.resources.resource_groups.create_or_update("rg-e-gone", {"location": "westeurope"})
    devstack_admin.reset()
    assert arm.resources.resource_groups.check_existence("rg-e-gone") is False
    assert NW not in {w.name for w in arm.network.network_watchers.list_all()}
