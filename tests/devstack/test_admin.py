"""The admin API (`/_devstack/`): run-time VMs, faults, clock, role assignments, outbox, reset."""

import time

import pytest
from azure.communication.email import EmailClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.mgmt.resource.resources import ResourceManagementClient

from devstack.testing import AdminClient, AdminError

pytestmark = pytest.mark.usefixtures("azure_env")
OTHER_SUB = "00000000-0000-0000-0000-00000000beef"
NEW_VM = (
    f"/subscriptions/{OTHER_SUB}/resourceGroups/rg-added/providers/Microsoft.Compute/virtualMachines/vm-added"
)


def resources(admin: AdminClient, subscription: str) -> ResourceManagementClient:
    return ResourceManagementClient(DefaultAzureCredential(), subscription, base_url=admin.state.arm_endpoint)


def test_added_vm_is_readable_through_arm_until_reset(devstack_admin: AdminClient) -> None:
    created = devstack_admin.add_vm({"id": NEW_VM, "location": "northeurope"})
    assert created["id"].lower() == NEW_VM.lower()
    devstack_admin.add_role_assignment(
        devstack_admin.state.principal_id, "Reader", f"/subscriptions/{OTHER_SUB}"
    )
    client = resources(devstack_admin, OTHER_SUB)
    vm = client.resources.get_by_id(NEW_VM, api_version="2024-11-01")
    assert vm.location == "northeurope" and vm.name == "vm-added"
    devstack_admin.reset()
    devstack_admin.add_role_assignment(
        devstack_admin.state.principal_id, "Reader", f"/subscriptions/{OTHER_SUB}"
    )
    with pytest.raises(ResourceNotFoundError):
        client.resources.get_by_id(NEW_VM, api_version="2024-11-01")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"location": "westeurope"}, "id must be a VM or scale set ARM id"),
        ({"id": NEW_VM, "location": "west/europe"}, "location must be a region name"),
        ({"id": NEW_VM, "location": ""}, "location must be a region name"),
    ],
)
def test_bad_vm_spec_is_400(devstack_admin: AdminClient, spec: dict, fragment: str) -> None:
    with pytest.raises(AdminError) as info:
        devstack_admin.add_vm(spec)
    assert info.value.response.status_code == 400
    assert fragment in info.value.response.json()["error"]["message"]


def test_arm_429_with_retry_after_is_retried_by_the_sdk(devstack_admin: AdminClient) -> None:
    state = devstack_admin.state
    vm_id = (
        f"/subscriptions/{state.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
        "Microsoft.Compute/virtualMachines/vm-demo"
    )
    devstack_admin.add_fault(
        {"service": "arm", "operation": "VirtualMachines_Get", "status": 429, "retry_after": 0, "count": 2}
    )
    vm = resources(devstack_admin, state.subscription_id).resources.get_by_id(vm_id, api_version="2024-11-01")
    assert vm.name == "vm-demo"
    (fault,) = devstack_admin.faults()
    assert fault["fired"] == 2
    assert devstack_admin.clear_faults(service="arm") == 1 and devstack_admin.faults() == []


def test_clock_manual_advance_and_reset(devstack_admin: AdminClient) -> None:
    frozen = devstack_admin.clock(manual=True)
    assert frozen["manual"] is True
    later = devstack_admin.clock(advance=3600)
    assert later["epoch"] == pytest.approx(frozen["epoch"] + 3600, abs=0.5)
    fast = devstack_admin.clock(manual=False, speed=50)
    assert fast["speed"] == 50
    devstack_admin.reset()
    clock = devstack_admin.clock()
    assert clock["manual"] is False and clock["speed"] == 1.0 and abs(clock["epoch"] - time.time()) < 5


def test_removing_the_apps_role_denies_it_until_reset(devstack_admin: AdminClient) -> None:
    state = devstack_admin.state
    assert devstack_admin.remove_role_assignments(state.principal_id) == 4  # infra/roles/assignments.json
    client = EmailClient(state.acs_endpoint, DefaultAzureCredential())
    body = {
        "senderAddress": "DoNotReply@alertcap.localhost",
        "content": {"subject": "s", "plainText": "t"},
        "recipients": {"to": [{"address": "oncall@alertcap.localhost"}]},
    }
    with pytest.raises(HttpResponseError) as info:
        client.begin_send(body, polling_interval=0)
    assert info.value.status_code == 403
    devstack_admin.reset()
    assert [a["principal_id"] for a in devstack_admin.role_assignments()] == [state.principal_id] * 4
    assert client.begin_send(body, polling_interval=0).result()["status"] == "Succeeded"
    assert len(devstack_admin.emails()) == 1


def test_unknown_email_and_empty_captures(devstack_admin: AdminClient) -> None:
    assert devstack_admin.captures() == []
    with pytest.raises(AdminError) as info:
        devstack_admin.email_eml("nope")
    assert info.value.response.status_code == 404
