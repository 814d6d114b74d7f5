"""Network watchers and packet captures through the real azure-mgmt-network SDK against the devstack:
every operation with its LRO polling, a real capture on loopback read back from the blob, the limits."""

from __future__ import annotations

import os
import signal

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from devstack.arm.testing import WATCHER_RG, ArmClients, Listener, app_token, raw_arm, tcp_ports
from devstack.testing import processes_mentioning, wait_until

NW_WEST = "NetworkWatcher_westeurope"


@pytest.fixture
def arm(azure_env) -> ArmClients:
    return ArmClients.for_state(azure_env)


@pytest.fixture
def web_vm(arm) -> str:
    return arm.vm_id("rg-alertcap-demo", "vm-web-01")


def test_a_watcher_per_region_with_vms(arm):
    watchers = {w.name: w for w in arm.network.network_watchers.list_all()}
    assert set(watchers) == {"NetworkWatcher_westeurope", "NetworkWatcher_eastus"}
    west = watchers[NW_WEST]
    assert west.location == "westeurope" and west.provisioning_state == "Succeeded"
    assert west.id.endswith(
        f"/resourceGroups/{WATCHER_RG}/providers/Microsoft.Network/networkWatchers/{NW_WEST}"
    )
    assert west.etag.startswith('W/"')
    assert [w.name for w in arm.network.network_watchers.list(WATCHER_RG)] == sorted(watchers)
    assert arm.network.network_watchers.get(WATCHER_RG, NW_WEST).id == west.id
    with pytest.raises(ResourceNotFoundError):
        arm.network.network_watchers.get(WATCHER_RG, "NetworkWatcher_mars")
    with pytest.raises(ResourceNotFoundError, match="ResourceGroupNotFound"):
        list(arm.network.network_watchers.list("rg-nowhere"))


def test_added_vm_brings_its_region_watcher(arm, devstack_admin):
    sub = arm.state.subscription_id
    vm = f"/subscriptions/{sub}/resourceGroups/rg-new/providers/Microsoft.Compute/virtualMachines/vm-nz"
    devstack_admin.add_vm({"id": vm, "location": "New Zealand North"})
    assert arm.network.network_watchers.get(WATCHER_RG, "NetworkWatcher_newzealandnorth").location == (
        "newzealandnorth"
    )


def test_capture_on_one_port_lands_in_blob_storage(arm, web_vm, devstack_admin):
    with Listener() as wanted, Listener() as other:
        filters = [{"protocol": "TCP", "localPort": str(wanted.port)}]
        created = arm.create("pc-real", web_vm, filters=filters)
        assert created.provisioning_state == "Succeeded"
        running = arm.status("pc-real")
        assert running.packet_capture_status == "Running" and running.capture_start_time is not None
        wanted.send(times=3)
        other.send(times=3)
        arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-real").result()
    status = arm.status("pc-real")
    assert (status.packet_capture_status, status.stop_reason, status.packet_capture_error) == (
        "Stopped",
        "Manual",
        [],
    )
    assert status.capture_start_time == running.capture_start_time
    pcap = arm.download(created.storage_location.storage_path)
    assert pcap[:4] == bytes.fromhex("d4c3b2a1")
    ports = tcp_ports(pcap)
    assert wanted.port in ports and other.port not in ports
    [summary] = devstack_admin.captures()
    assert summary["target"] == web_vm and summary["status"] == "Stopped" and summary["uploaded"] is True
    assert summary["blobUrl"] == created.storage_location.storage_path and summary["localFile"].endswith(
        ".cap"
    )


def test_get_echoes_defaults_and_extra_fields(arm, web_vm):
    sub = arm.state.subscription_id
    created = arm.create("pc-defaults", web_vm)
    got = arm.network.packet_captures.get(WATCHER_RG, NW_WEST, "pc-defaults")
    assert got.id == created.id and got.name == "pc-defaults" and got.etag.startswith('W/"')
    assert (got.bytes_to_capture_per_packet, got.total_bytes_per_session, got.time_limit_in_seconds) == (
        0,
        1073741824,
        18000,
    )
    assert got.target == web_vm and got.target_type == "AzureVM" and got.filters == []
    assert got.scope.include == [] and got.scope.exclude == []
    assert got["type"] == "Microsoft.Network/networkWatchers/packetCaptures"
    path = got.storage_location.storage_path
    prefix = (
        f"{arm.state.blob_endpoint}/network-watcher-logs/subscriptions/{sub}/resourcegroups/rg-alertcap-demo/"
        "providers/microsoft.compute/virtualmachines/vm-web-01/"
    )
    assert path.startswith(prefix), path
    assert path.rsplit("/", 1)[1].startswith("packetcapture_") and path.endswith(".cap")
    assert got.storage_location.storage_id == arm.state.capture_storage_account_id


def test_caller_storage_path_is_kept(arm, web_vm):
    path = f"{arm.state.blob_endpoint}/mine/pc-path.cap"
    body = {"storageId": arm.state.capture_storage_account_id, "storagePath": path}
    created = arm.network.packet_captures.begin_create(
        WATCHER_RG, NW_WEST, "pc-path", {"properties": {"target": web_vm, "storageLocation": body}}
    ).result()
    assert created.storage_location.storage_path == path
    arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-path").result()
    assert arm.download(path)[:4] == bytes.fromhex("d4c3b2a1")


def test_list_and_delete(arm, web_vm):
    for name in ("pc-a", "pc-b"):
        arm.create(name, web_vm)
    assert sorted(c.name for c in arm.network.packet_captures.list(WATCHER_RG, NW_WEST)) == ["pc-a", "pc-b"]
    assert arm.network.packet_captures.begin_delete(WATCHER_RG, NW_WEST, "pc-a").result() is None
    with pytest.raises(ResourceNotFoundError):
        arm.network.packet_captures.get(WATCHER_RG, NW_WEST, "pc-a")
    assert [c.name for c in arm.network.packet_captures.list(WATCHER_RG, NW_WEST)] == ["pc-b"]
    with pytest.raises(ResourceNotFoundError):
        arm.status("pc-a")


def test_total_bytes_per_session_stops_early(arm, web_vm):
    with Listener() as listener:
        created = arm.create(
            "pc-bytes",
            web_vm,
            totalBytesPerSession=4000,
            filters=[{"protocol": "TCP", "localPort": str(listener.port)}],
        )

        def sent_until_stopped():
            listener.send(b"b" * 400)
            return arm.status("pc-bytes").packet_capture_status == "Stopped"

        wait_until(sent_until_stopped, 15, message="byte limit reached")
    status = arm.status("pc-bytes")
    assert status.stop_reason == "SizeExceeded"
    pcap = arm.download(created.storage_location.storage_path)
    assert len(pcap) <= 4000 and listener.port in tcp_ports(pcap)


def test_time_limit_runs_on_the_devstack_clock(arm, web_vm, devstack_admin):
    devstack_admin.clock(manual=True)
    arm.create("pc-time", web_vm, timeLimitInSeconds=600)
    devstack_admin.clock(advance=599)
    assert arm.status("pc-time").packet_capture_status == "Running"
    devstack_admin.clock(advance=1)
    status = arm.wait_stopped("pc-time")
    assert (status.packet_capture_status, status.stop_reason) == ("Stopped", "TimeExceeded")


def test_stopping_twice_is_fine(arm, web_vm):
    arm.create("pc-twice", web_vm)
    for _ in range(2):
        arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-twice").result()
    assert arm.status("pc-twice").stop_reason == "Manual"


def test_create_wire_shape(arm, web_vm, devstack_admin):
    token = app_token(devstack_admin)
    path = (
        f"/subscriptions/{arm.state.subscription_id}/resourceGroups/{WATCHER_RG}/providers/Microsoft.Network/"
    )
    path += f"networkWatchers/{NW_WEST}/packetCaptures/pc-wire"
    with raw_arm(arm.state, token) as http:
        created = http.put(path, params={"api-version": "2022-01-01"}, json=arm.capture_body(web_vm))
        assert created.status_code == 201, created.text
        assert created.json()["properties"]["provisioningState"] == "Updating"
        assert int(created.headers["x-ms-ratelimit-remaining-subscription-writes"]) < 200
        assert "x-ms-ratelimit-remaining-subscription-global-writes" in created.headers
        operation = created.headers["Azure-AsyncOperation"]
        assert "/providers/Microsoft.Network/locations/westeurope/operations/" in operation
        assert operation.startswith(arm.state.arm_endpoint) and "api-version=2022-01-01" in operation
        assert wait_until(lambda: http.get(operation).json()["status"] == "Succeeded", 5)
        assert http.get(path, params={"api-version": "2022-01-01"}).json()["properties"][
            "provisioningState"
        ] == ("Succeeded")
        stopped = http.post(path + "/stop", params={"api-version": "2026-03-01"})
        assert stopped.status_code == 202 and stopped.content == b""
        location = stopped.headers["Location"]
        assert "/operationResults/" in location
        wait_until(
            lambda: http.get(stopped.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded", 10
        )
        result = http.get(location)
        assert (result.status_code, result.text) == (200, "null")
        status = http.post(path + "/queryStatus", params={"api-version": "2026-03-01"})
        assert status.status_code == 200 and status.json()["stopReason"] == "Manual"
        deleted = http.delete(path, params={"api-version": "2026-03-01"})
        assert deleted.status_code == 202 and "Location" in deleted.headers
        wait_until(lambda: http.get(deleted.headers["Location"]).status_code == 204, 10)


BAD_BODIES = [
    ({}, "InvalidRequestFormat", "properties"),
    (
        {"properties": {"storageLocation": {"filePath": "/var/captures/a.cap"}}},
        "InvalidRequestFormat",
        "target",
    ),
    ({"properties": {"target": "TARGET"}}, "InvalidRequestFormat", "storageLocation"),
    ({"properties": {"target": "TARGET", "storageLocation": {}}}, "InvalidParameter", "storageId"),
    (
        {"properties": {"target": "vm1", "storageLocation": {"filePath": "/x.cap"}}},
        "InvalidParameter",
        "target",
    ),
    (
        {"properties": {"target": "TARGET", "timeLimitInSeconds": 18001, **{"storageLocation": "STORAGE"}}},
        "InvalidParameter",
        "18000",
    ),
    (
        {"properties": {"target": "TARGET", "bytesToCapturePerPacket": -1, "storageLocation": "STORAGE"}},
        "InvalidParameter",
        "bytesToCapturePerPacket",
    ),
    (
        {
            "properties": {
                "target": "TARGET",
                "totalBytesPerSession": 4294967296,
                "storageLocation": "STORAGE",
            }
        },
        "InvalidParameter",
        "4294967295",
    ),
    (
        {"properties": {"target": "TARGET", "timeLimitInSeconds": "60", "storageLocation": "STORAGE"}},
        "InvalidRequestFormat",
        "integer",
    ),
    (
        {"properties": {"target": "TARGET", "targetType": "AzureVMSS", "storageLocation": "STORAGE"}},
        "InvalidParameter",
        "targetType",
    ),
    (
        {"properties": {"target": "TARGET", "targetType": "AzureFunction", "storageLocation": "STORAGE"}},
        "InvalidParameter",
        "targetType",
    ),
    (
        {"properties": {"target": "TARGET", "filters": [{"protocol": "ICMP"}], "storageLocation": "STORAGE"}},
        "InvalidParameter",
        "protocol",
    ),
    (
        {
            "properties": {
                "target": "TARGET",
                "filters": [{"localPort": "1-2;3"}],
                "storageLocation": "STORAGE",
            }
        },
        "InvalidParameter",
        "localPort",
    ),
    (
        {"properties": {"target": "TARGET", "continuousCapture": "yes", "storageLocation": "STORAGE"}},
        "InvalidRequestFormat",
        "continuousCapture",
    ),
    (
        {"properties": {"target": "TARGET", "continuousCapture": True, "storageLocation": "STORAGE",
                        "captureSettings": {"fileCount": 10001}}},
        "InvalidParameter",
        "fileCount",
    ),
    (
        {"properties": {"target": "TARGET", "continuousCapture": True, "storageLocation": "STORAGE",
                        "captureSettings": {"fileSizeInBytes": 4294967296}}},
        "InvalidParameter",
        "fileSizeInBytes",
    ),
    (
        {"properties": {"target": "TARGET", "continuousCapture": True, "storageLocation": "STORAGE",
                        "captureSettings": {"sessionTimeLimitInSeconds": 604801}}},
        "InvalidParameter",
        "sessionTimeLimitInSeconds",
    ),
    (
        {"properties": {"target": "TARGET", "continuousCapture": True, "storageLocation": "STORAGE",
                        "captureSettings": {"fileCount": "ten"}}},
        "InvalidRequestFormat",
        "fileCount",
    ),
    (
        {"properties": {"target": "TARGET", "continuousCapture": True, "storageLocation": "STORAGE",
                        "captureSettings": {"fileSize": 5}}},
        "InvalidParameter",
        "captureSettings",
    ),
    (
        {"properties": {"target": "TARGET", "fileSize": 5, "storageLocation": "STORAGE"}},
        "InvalidParameter",
        "fileSize",
    ),
]


@pytest.mark.parametrize(("body", "code", "mentions"), BAD_BODIES)
def test_bad_bodies_get_400_naming_the_problem(arm, web_vm, devstack_admin, body, code, mentions):
    storage = {"storageId": arm.state.capture_storage_account_id}
    props = body.get("properties")
    if isinstance(props, dict):
        props = {k: web_vm if v == "TARGET" else storage if v == "STORAGE" else v for k, v in props.items()}
        body = {"properties": props}
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        url = f"/subscriptions/{arm.state.subscription_id}/resourceGroups/{WATCHER_RG}/providers/"
        url += f"Microsoft.Network/networkWatchers/{NW_WEST}/packetCaptures/pc-bad"
        response = http.put(url, params={"api-version": "2026-03-01"}, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and mentions in error["message"] + error.get("target", "")
    with pytest.raises(ResourceNotFoundError):
        arm.network.packet_captures.get(WATCHER_RG, NW_WEST, "pc-bad")


def test_malformed_json_is_400_through_raw_http(arm, devstack_admin):
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        url = f"/subscriptions/{arm.state.subscription_id}/resourceGroups/{WATCHER_RG}/providers/"
        url += f"Microsoft.Network/networkWatchers/{NW_WEST}/packetCaptures/pc-json"
        for content in (b"{not json", b"", b"[1, 2]", "\udcff".encode("utf-8", "surrogatepass")):
            response = http.put(url, params={"api-version": "2026-03-01"}, content=content)
            assert response.status_code == 400, content
            assert response.json()["error"]["code"] == "InvalidRequestContent"


def test_sdk_surfaces_400_as_http_response_error(arm, web_vm):
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-sdk-bad", web_vm, timeLimitInSeconds=18001)
    assert err.value.status_code == 400 and err.value.error.code == "InvalidParameter"


def test_agent_missing_vm_stopped_wrong_region_unknown_target(arm, devstack_admin):
    sub = arm.state.subscription_id
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-noagent", arm.vm_id("rg-alertcap-east", "vm-noagent"), region="eastus")
    assert (err.value.status_code, err.value.error.code) == (400, "NetworkWatcherAgentNotInstalled")
    stopped = f"/subscriptions/{sub}/resourceGroups/rg-x/providers/Microsoft.Compute/virtualMachines/vm-off"
    devstack_admin.add_vm({"id": stopped, "location": "westeurope", "powerState": "deallocated"})
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-off", stopped)
    assert (err.value.status_code, err.value.error.code) == (400, "VmNotRunning")
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-region", arm.vm_id("rg-alertcap-demo", "vm-web-01"), region="eastus")
    assert err.value.error.code == "TargetNotInNetworkWatcherRegion"
    with pytest.raises(ResourceNotFoundError) as err:
        arm.create("pc-ghost", arm.vm_id("rg-alertcap-demo", "vm-ghost"))
    assert err.value.error.code == "TargetResourceNotFound"
    assert devstack_admin.captures() == []


def test_running_name_conflicts_stopped_name_is_replaced(arm, web_vm):
    first = arm.create("pc-dup", web_vm)
    with pytest.raises(ResourceExistsError) as err:
        arm.create("pc-dup", web_vm)
    assert err.value.status_code == 409 and err.value.error.code == "PacketCaptureAlreadyExists"
    arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-dup").result()
    second = arm.create("pc-dup", web_vm)
    assert second.storage_location.storage_path != first.storage_location.storage_path
    assert arm.status("pc-dup").packet_capture_status == "Running"


def test_scale_set_capture_writes_one_file_per_included_instance(arm, devstack_admin):
    vmss = arm.vm_id("rg-alertcap-east", "vmss-web", scale_set=True)
    created = arm.create("pc-vmss", vmss, region="eastus", targetType="AzureVMSS",
                         scope={"include": ["3", "vmss-web_0"]})
    assert created.target_type == "AzureVMSS" and created.scope.include == ["3", "vmss-web_0"]
    folder = created.storage_location.storage_path
    assert "/virtualmachinescalesets/vmss-web/" in folder and not folder.endswith(".cap")
    arm.network.packet_captures.begin_stop(WATCHER_RG, "NetworkWatcher_eastus", "pc-vmss").result()
    assert arm.status("pc-vmss", "eastus").stop_reason == "Manual"
    [summary] = [c for c in devstack_admin.captures() if c["name"] == "pc-vmss"]
    assert summary["instances"] == ["vmss-web_3", "vmss-web_0"]
    assert summary["files"] == [f"{folder}/vmss-web_3.cap", f"{folder}/vmss-web_0.cap"]
    for url in summary["files"]:
        assert arm.download(url)[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")  # a pcap per instance
    with pytest.raises(ResourceNotFoundError):
        arm.download(f"{folder}/vmss-web_1.cap")  # instance 1 was not in scope


@pytest.mark.parametrize("scope, named", [
    ({"include": ["2"]}, "'2'"),
    ({"exclude": ["vmss-web_9"]}, "vmss-web_9"),
    ({"include": ["0"], "exclude": ["0"]}, "no instance"),
])
def test_scale_set_scope_must_name_its_instances(arm, scope, named):
    vmss = arm.vm_id("rg-alertcap-east", "vmss-web", scale_set=True)
    with pytest.raises(HttpResponseError) as err:
        arm.create("pc-vmss-bad", vmss, region="eastus", targetType="AzureVMSS", scope=scope)
    assert err.value.status_code == 400 and named in err.value.error.message
    assert err.value.error.target.startswith("properties.scope")


def test_frozen_clock_still_gives_each_capture_its_own_blob(arm, web_vm, devstack_admin):
    devstack_admin.clock(manual=True)
    paths = {arm.create(f"pc-frozen-{i}", web_vm).storage_location.storage_path for i in range(3)}
    assert len(paths) == 3


def test_file_path_only_keeps_the_pcap_local(arm, web_vm, devstack_admin):
    body = {"properties": {"target": web_vm, "storageLocation": {"filePath": "/var/captures/pc-local.cap"}}}
    created = arm.network.packet_captures.begin_create(WATCHER_RG, NW_WEST, "pc-local", body).result()
    assert created.storage_location.storage_path == ""
    assert created.storage_location.file_path == "/var/captures/pc-local.cap"
    arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-local").result()
    assert arm.status("pc-local").packet_capture_status == "Stopped"
    [summary] = devstack_admin.captures()
    assert summary["blobUrl"] is None and summary["uploaded"] is False
    with open(summary["localFile"], "rb") as fh:
        assert fh.read(4) == bytes.fromhex("d4c3b2a1")


def test_reset_kills_running_tcpdumps(arm, web_vm, devstack_admin):
    arm.create("pc-reset", web_vm)
    [summary] = devstack_admin.captures()
    assert processes_mentioning(summary["localFile"])
    devstack_admin.reset()
    wait_until(lambda: not processes_mentioning(summary["localFile"]), 5, message="tcpdump gone")
    assert devstack_admin.captures() == []


def test_lists_are_paged(arm, devstack_admin):
    sub = arm.state.subscription_id
    vmss = (
        f"/subscriptions/{sub}/resourceGroups/rg-big/providers/Microsoft.Compute/virtualMachineScaleSets/big"
    )
    devstack_admin.add_vm({"id": vmss, "location": "eastus", "instances": [f"big_{i}" for i in range(150)]})
    with raw_arm(arm.state, app_token(devstack_admin)) as http:
        first = http.get(vmss + "/virtualMachines", params={"api-version": "2026-04-01"}).json()
    assert len(first["value"]) == 100 and "$skiptoken=100" in first["nextLink"]
    names = [vm.name for vm in arm.compute.virtual_machine_scale_set_vms.list("rg-big", "big")]
    assert names == [f"big_{i}" for i in range(150)]


def test_agent_failure_is_reported_by_query_status(arm, web_vm, devstack_admin):
    arm.create("pc-crash", web_vm)
    [summary] = devstack_admin.captures()
    [pid] = processes_mentioning(summary["localFile"])
    os.kill(pid, signal.SIGKILL)  # the "agent" dies under the capture
    status = arm.wait_stopped("pc-crash")
    assert (status.packet_capture_status, status.packet_capture_error, status.stop_reason) == (
        "Error",
        ["AgentStopped"],
        "",
    )


def test_continuous_capture_rotates_into_blob_storage_and_keeps_file_count(arm, web_vm, devstack_admin):
    from azure.storage.blob import ContainerClient

    settings = {"fileCount": 2, "fileSizeInBytes": 1500, "sessionTimeLimitInSeconds": 600}
    with Listener() as wanted:
        created = arm.create("pc-ring", web_vm, continuousCapture=True, captureSettings=settings,
                             filters=[{"protocol": "TCP", "localPort": str(wanted.port)}])
        assert created.continuous_capture is True
        assert created.as_dict()["properties"]["captureSettings"] == settings
        prefix_url = created.storage_location.storage_path
        account, _, rest = prefix_url.partition("/network-watcher-logs/")
        container = ContainerClient(account, "network-watcher-logs", credential=arm.credential)

        def ring_blobs() -> list:
            try:
                return list(container.list_blobs(name_starts_with=rest))
            except ResourceNotFoundError:  # the container appears with the first file
                return []

        def rotated() -> list:
            wanted.send(b"q" * 300, times=2)
            blobs = ring_blobs()
            return blobs if any(b.name.endswith("_00004.cap") for b in blobs) else []

        blobs = wait_until(rotated, 20, interval=0.05, message="four ring files written")
        assert arm.status("pc-ring").packet_capture_status == "Running"
        assert len(blobs) <= 2 and all(b.size <= 1500 for b in blobs)
        arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-ring").result()
    status = arm.status("pc-ring")
    assert (status.packet_capture_status, status.stop_reason) == ("Stopped", "Manual")
    names = sorted(b.name for b in ring_blobs())
    assert len(names) == 2 and all(n.startswith(rest + "_") for n in names)
    newest = arm.download(f"{account}/network-watcher-logs/{names[-1]}")
    assert wanted.port in tcp_ports(newest)


def test_continuous_capture_on_a_scale_set_keeps_one_ring_per_instance(arm, devstack_admin):
    from azure.storage.blob import ContainerClient

    vmss = arm.vm_id("rg-alertcap-east", "vmss-web", scale_set=True)
    settings = {"fileCount": 2, "fileSizeInBytes": 1500, "sessionTimeLimitInSeconds": 600}
    with Listener() as wanted:
        created = arm.create("pc-vmss-ring", vmss, region="eastus", targetType="AzureVMSS",
                             scope={"include": ["3", "vmss-web_0"]}, continuousCapture=True,
                             captureSettings=settings,
                             filters=[{"protocol": "TCP", "localPort": str(wanted.port)}])
        folder = created.storage_location.storage_path
        assert created.continuous_capture is True and not folder.endswith(".cap")
        account, _, rest = folder.partition("/network-watcher-logs/")
        container = ContainerClient(account, "network-watcher-logs", credential=arm.credential)

        def ring_blobs() -> list[str]:
            try:
                return sorted(b.name for b in container.list_blobs(name_starts_with=rest + "/"))
            except ResourceNotFoundError:  # the container appears with the first file
                return []

        def rotated() -> list[str]:
            wanted.send(b"q" * 300, times=2)
            names = ring_blobs()
            return names if sum(n.endswith("/00003.cap") for n in names) == 2 else []

        wait_until(rotated, 20, interval=0.05, message="three files in each instance's ring")
        assert arm.status("pc-vmss-ring", "eastus").packet_capture_status == "Running"
        arm.network.packet_captures.begin_stop(WATCHER_RG, "NetworkWatcher_eastus", "pc-vmss-ring").result()
    names = ring_blobs()
    by_instance = {n[len(rest) + 1:].split("/", 1)[0] for n in names}
    assert by_instance == {"vmss-web_3", "vmss-web_0"}, names  # instance 1 was not in scope
    for instance in by_instance:  # each instance's ring keeps at most fileCount files
        mine = [n for n in names if n.startswith(f"{rest}/{instance}/")]
        assert 1 <= len(mine) <= 2, names
    newest = arm.download(f"{account}/network-watcher-logs/{names[-1]}")
    assert wanted.port in tcp_ports(newest)


def test_continuous_capture_defaults_are_echoed(arm, web_vm):
    created = arm.create("pc-ring-defaults", web_vm, continuousCapture=True)
    settings = created.capture_settings
    assert (settings.file_count, settings.file_size_in_bytes, settings.session_time_limit_in_seconds) == (
        10, 104857600, 86400)
    assert not created.storage_location.storage_path.endswith(".cap")
    arm.network.packet_captures.begin_stop(WATCHER_RG, NW_WEST, "pc-ring-defaults").result()
