"""ARM error paths: authentication (401), RBAC (403), injected throttling and failures as azure-core sees
them, and garbage on every route (the emulator answers in ARM's error shape and keeps serving)."""

from __future__ import annotations

import time

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from devstack.arm.testing import ARM_AUDIENCE, WATCHER_RG, ArmClients, app_token, raw_arm

NW_WEST = "NetworkWatcher_westeurope"
STRANGER = "99999999-9999-9999-9999-999999999999"


class StaticToken:
    """A TokenCredential that always presents one given token (to send bad tokens through the real SDK)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def arm(azure_env) -> ArmClients:
    return ArmClients.for_state(azure_env)


def network_client(arm: ArmClients, token: str) -> NetworkManagementClient:
    return NetworkManagementClient(
        StaticToken(token), arm.state.subscription_id, base_url=arm.state.arm_endpoint, polling_interval=0
    )


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda admin: None, "AuthenticationFailed"),
        (lambda admin: "not-a-jwt", "InvalidAuthenticationToken"),
        (lambda admin: app_token(admin, lifetime_seconds=-600), "ExpiredAuthenticationToken"),
        (
            lambda admin: admin.issue_token(admin.state.principal_id, "https://storage.azure.com"),
            "InvalidAuthenticationTokenAudience",
        ),
    ],
)
def test_bad_tokens_are_401(arm, devstack_admin, make_token, code):
    token = make_token(devstack_admin)
    with raw_arm(arm.state, token) as http:
        response = http.get(
            f"/subscriptions/{arm.state.subscription_id}/providers/Microsoft.Network/networkWatchers",
            params={"api-version": "2026-03-01"},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "x-ms-ratelimit-remaining-subscription-reads" in response.headers
    if token is not None:
        with pytest.raises(ClientAuthenticationError):
            list(network_client(arm, token).network_watchers.list_all())


def test_both_arm_audiences_are_accepted(arm, devstack_admin):
    token = devstack_admin.issue_token(arm.state.principal_id, "https://management.core.windows.net/")
    assert len(list(network_client(arm, token).network_watchers.list_all())) == 2


def test_principal_without_roles_gets_403_in_arms_words(arm, devstack_admin):
    client = network_client(arm, app_token(devstack_admin, STRANGER))
    with pytest.raises(HttpResponseError) as err:
        client.network_watchers.get(WATCHER_RG, NW_WEST)
    assert err.value.status_code == 403 and err.value.error.code == "AuthorizationFailed"
    message = err.value.error.message
    assert f"The client '{STRANGER}' with object id '{STRANGER}'" in message
    assert "action 'Microsoft.Network/networkWatchers/read'" in message
    assert f"over scope '/subscriptions/{arm.state.subscription_id}/resourceGroups/{WATCHER_RG}/" in message


def test_without_read_access_a_missing_resource_is_403_not_404(arm, devstack_admin):
    """ARM authorizes the scope before the provider looks, so a caller cannot probe which ids exist."""
    from azure.mgmt.resource.resources import ResourceManagementClient

    stranger = ResourceManagementClient(
        StaticToken(app_token(devstack_admin, STRANGER)), arm.state.subscription_id,
        base_url=arm.state.arm_endpoint, polling_interval=0,
    )
    groups = f"/subscriptions/{arm.state.subscription_id}/resourceGroups"
    missing_ids = {
        f"{groups}/rg-alertcap-demo/providers/Microsoft.Network/networkWatchers/gone": "Microsoft.Network/"
        "networkWatchers/read",
        f"{groups}/rg-missing": "Microsoft.Resources/subscriptions/resourceGroups/read",
        arm.vm_id("rg-missing", "vm-gone"): "Microsoft.Compute/virtualMachines/read",
    }
    for missing, action in missing_ids.items():
        with pytest.raises(HttpResponseError) as err:
            stranger.resources.get_by_id(missing, api_version="2024-11-01")
        assert err.value.status_code == 403 and err.value.error.code == "AuthorizationFailed"
        assert f"action '{action}'" in err.value.error.message
        with pytest.raises(HttpResponseError) as err:
            arm.resources.resources.get_by_id(missing, api_version="2024-11-01")
        assert err.value.status_code == 404  # the app's identity may read: the id really is missing


def test_network_contributor_cannot_read_vms(arm, devstack_admin):
    principal = arm.state.principal_id
    devstack_admin.remove_role_assignments(principal)
    devstack_admin.add_role_assignment(
        principal, "Network Contributor", f"/subscriptions/{arm.state.subscription_id}"
    )
    vm = arm.vm_id("rg-alertcap-demo", "vm-web-01")
    # Microsoft.Network/* covers every capture action, but not the storage account's key/SAS actions Network
    # Watcher needs of the caller (a linked check on the capture account)
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-netcontrib", vm)
    assert err.value.status_code == 403 and err.value.error.code == "LinkedAuthorizationFailed"
    assert "Microsoft.Storage/storageAccounts/" in err.value.error.message
    account = arm.state.capture_storage_account_id
    devstack_admin.add_role_assignment(principal, "alertcap capture storage writer", account)
    created = arm.create("pc-netcontrib", vm)
    assert created.provisioning_state == "Succeeded"
    with pytest.raises(HttpResponseError) as err:
        arm.compute.virtual_machines.get("rg-alertcap-demo", "vm-web-01")
    assert (
        err.value.status_code == 403 and "Microsoft.Compute/virtualMachines/read" in err.value.error.message
    )
    assert (
        list(arm.resources.resources.list(filter="resourceType eq 'Microsoft.Compute/virtualMachines'")) == []
    )


def test_429_with_retry_after_is_retried_by_azure_core(arm, devstack_admin):
    vm = arm.vm_id("rg-alertcap-demo", "vm-web-01")
    arm.create("pc-throttled", vm)
    devstack_admin.add_fault(
        {
            "service": "arm",
            "operation": "PacketCaptures_GetStatus",
            "status": 429,
            "retry_after": 0.1,
            "count": 2,
        }
    )
    assert arm.status("pc-throttled").packet_capture_status == "Running"  # a POST, retried for Retry-After
    [fault] = devstack_admin.faults()
    assert fault["fired"] == 2


def test_429_without_retry_after_on_a_post_reaches_the_caller(arm, devstack_admin):
    vm = arm.vm_id("rg-alertcap-demo", "vm-web-01")
    arm.create("pc-429", vm)
    devstack_admin.add_fault(
        {"service": "arm", "operation": "PacketCaptures_Stop", "status": 429, "count": 1}
    )
    with pytest.raises(HttpResponseError) as err:
        arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-429")
    assert err.value.status_code == 429 and err.value.error.code == "TooManyRequests"
    assert "x-ms-ratelimit-remaining-subscription-writes" in err.value.response.headers
    arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-429").result()  # the fault is spent
    assert arm.status("pc-429").stop_reason == "Manual"


def test_dropped_connection_on_a_get_is_retried(arm, devstack_admin):
    devstack_admin.add_fault({"service": "arm", "operation": "NetworkWatchers_Get", "drop": True, "count": 1})
    assert arm.network.network_watchers.get(WATCHER_RG, NW_WEST).location == "westeurope"
    assert devstack_admin.faults()[0]["fired"] == 1


def test_injected_500_on_create_is_an_error_after_retries(arm, devstack_admin):
    devstack_admin.add_fault({"service": "arm", "operation": "PacketCaptures_Create", "status": 500})
    client = ArmClients.for_state(arm.state, retry_total=1, retry_backoff_factor=0.01)
    with pytest.raises(HttpResponseError) as err:
        client.create("pc-500", arm.vm_id("rg-alertcap-demo", "vm-web-01"))
    assert err.value.status_code == 500
    assert devstack_admin.captures() == []


def test_missing_api_version_unknown_route_and_operation(arm, devstack_admin):
    sub = arm.state.subscription_id
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        response = http.get(f"/subscriptions/{sub}/providers/Microsoft.Network/networkWatchers")
        assert (response.status_code, response.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
        response = http.post(
            f"/subscriptions/{sub}/providers/Microsoft.Nope/things", params={"api-version": "1"}
        )
        assert response.status_code == 404 and response.json()["error"]["code"] == "NotFound"
        op = f"/subscriptions/{sub}/providers/Microsoft.Network/locations/westeurope/operations/abc"
        assert http.get(op, params={"api-version": "1"}).status_code == 404
        response = http.get(
            f"/subscriptions/{sub}0/providers/Microsoft.Network/networkWatchers", params={"api-version": "1"}
        )
        assert response.json()["error"]["code"] == "AuthorizationFailed"  # no role there: RBAC answers first


GARBAGE = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'{"properties": []}',
    b'{"properties": {"target": 5, "storageLocation": "x"}}',
    b'{"properties": {"target": "/subscriptions/../../etc/passwd", "storageLocation": {"storageId": 1}}}',
    b'{"properties": {"filters": "all", "target": null}}',
    b"\xff\xfe\x00garbage",
    b'{"location": {"a": 1}, "properties": {"publisher": ["x"], "type": {}}}',
    b"x" * (2 << 20),
    b"[" * 100_000,  # nested deeper than the JSON parser's recursion limit
]


def test_garbage_on_every_route_keeps_the_emulator_serving(arm, devstack_admin):
    sub = arm.state.subscription_id
    rg = f"/subscriptions/{sub}/resourceGroups"
    pc = f"{rg}/{WATCHER_RG}/providers/Microsoft.Network/networkWatchers/{NW_WEST}/packetCaptures"
    vm = f"{rg}/rg-alertcap-demo/providers/Microsoft.Compute/virtualMachines/vm-web-01"
    vmss = f"{rg}/rg-alertcap-east/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web"
    ops = f"/subscriptions/{sub}/providers/Microsoft.Network/locations/westeurope"
    routes = [
        ("GET", f"/subscriptions/{sub}/providers/Microsoft.Network/networkWatchers"),
        ("GET", f"{rg}/{WATCHER_RG}/providers/Microsoft.Network/networkWatchers/{NW_WEST}"),
        ("GET", pc),
        ("PUT", f"{pc}/g1"),
        ("GET", f"{pc}/g1"),
        ("POST", f"{pc}/g1/stop"),
        ("POST", f"{pc}/g1/queryStatus"),
        ("DELETE", f"{pc}/g1"),
        ("GET", f"{ops}/operations/%00"),
        ("GET", f"{ops}/operationResults/..%2f..%2f"),
        ("GET", vm),
        ("GET", f"{vm}/instanceView"),
        ("GET", f"{vm}/extensions"),
        ("PUT", f"{vm}/extensions/e1"),
        ("GET", vmss),
        ("GET", f"{vmss}/virtualMachines"),
        ("GET", f"/subscriptions/{sub}/resources"),
        ("GET", "//subscriptions/%ff/../x"),
        ("PATCH", vm),
    ]
    queries = [
        {"api-version": "2026-03-01"},
        {"api-version": "x" * 5000, "$filter": "name eq", "$expand": "everything", "$skiptoken": "-1"},
    ]
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        for method, path in routes:
            for query in queries:
                for body in GARBAGE:
                    response = http.request(method, path, params=query, content=body)
                    assert response.status_code < 500, (method, path, body[:40], response.text[:300])
                    if response.status_code >= 400:
                        error = response.json()["error"]
                        assert error["code"] and error["message"], (method, path)
    assert arm.network.network_watchers.get(WATCHER_RG, NW_WEST).name == NW_WEST
    assert devstack_admin.captures() == []


def test_every_response_carries_throttling_headers(arm, devstack_admin):
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        path = f"/subscriptions/{arm.state.subscription_id}/providers/Microsoft.Network/networkWatchers"
        first = http.get(path, params={"api-version": "2026-03-01"})
        second = http.get(path, params={"api-version": "2026-03-01"})
    reads = [int(r.headers["x-ms-ratelimit-remaining-subscription-reads"]) for r in (first, second)]
    assert reads[1] <= reads[0] < 250
    assert int(second.headers["x-ms-ratelimit-remaining-subscription-global-reads"]) > reads[1]
    assert first.headers["x-ms-request-id"] != second.headers["x-ms-request-id"]
    assert ARM_AUDIENCE  # the audience the app asks for is the one ARM documents
