"""The assembled devstack end to end through the real SDKs: a packet capture on a loopback VM runs tcpdump,
stops on its time limit (sped up by the clock), and its pcap lands in Azurite where the app's managed
identity can read it."""

import pytest
from azure.identity import DefaultAzureCredential
from azure.mgmt.network import NetworkManagementClient
from azure.storage.blob import BlobClient

from devstack.testing import AdminClient, DevstackState, wait_until

pytestmark = pytest.mark.usefixtures("azure_env")
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
}


def test_capture_pcap_reaches_blob_storage(devstack_admin: AdminClient) -> None:
    state: DevstackState = devstack_admin.state
    devstack_admin.clock(speed=10)  # a 10 s capture takes about 1 s
    credential = DefaultAzureCredential()
    network = NetworkManagementClient(credential, state.subscription_id, base_url=state.arm_endpoint)
    watcher = next(w for w in network.network_watchers.list_all() if w.location == "westeurope")
    rg = watcher.id.split("/")[4]
    vm = (
        f"/subscriptions/{state.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
        "Microsoft.Compute/virtualMachines/vm-web-01"
    )
    body = {
        "properties": {
            "target": vm,
            "timeLimitInSeconds": 10,
            "storageLocation": {"storageId": state.capture_storage_account_id},
        }
    }
    capture = network.packet_captures.begin_create(
        rg, watcher.name, "alertcap-assembly", body, polling_interval=0
    ).result()
    assert capture.provisioning_state == "Succeeded"

    def stopped():
        status = network.packet_captures.begin_get_status(
            rg, watcher.name, "alertcap-assembly", polling_interval=0
        ).result()
        return status if status.packet_capture_status in ("Stopped", "Error") else None

    status = wait_until(stopped, timeout=30, interval=0.2, message="capture stopped")
    assert status.packet_capture_status == "Stopped" and status.stop_reason == "TimeExceeded"
    path = network.packet_captures.get(rg, watcher.name, "alertcap-assembly").storage_location.storage_path
    assert path.startswith(state.blob_endpoint + "/")
    data = wait_until(lambda: _download(path, credential), timeout=10, message="pcap uploaded")
    assert data[:4] in PCAP_MAGICS
    (listed,) = devstack_admin.captures()
    assert listed["target"].lower() == vm.lower()


def _download(url: str, credential: DefaultAzureCredential) -> bytes | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return BlobClient.from_blob_url(url, credential=credential).download_blob().readall()
    except ResourceNotFoundError:
        return None
