"""Alert → capture → pcap → email on the devstack: real SDKs, real durable host, real capture."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dpkt
import httpx
import product_payloads as p
import pytest

from core.naming import window_start
from devstack.arm.testing import WATCHER_RG, ArmClients
from devstack.product_testing import post, run_status, wait_for_run
from devstack.testing import AdminClient, DevstackState, point_azure_env_at, run_devstack, wait_until

pytestmark = pytest.mark.e2e
RUN_TIMEOUT = 60.0


def fired_now(offset_seconds: int = 0) -> str:
    """A fired time inside the current 15-minute window (never in the future)."""
    start = window_start(datetime.now(UTC), 900)
    return (start + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def captures_for(admin: AdminClient, vm_id: str) -> list[dict[str, Any]]:
    return [c for c in admin.captures() if c["target"].lower() == vm_id.lower()]


def emails_for(admin: AdminClient, vm_id: str) -> list[dict[str, Any]]:
    name = vm_id.rsplit("/", 1)[-1]
    return [e for e in admin.emails() if name in e["subject"]]


def test_one_alert_gives_one_capture_a_valid_pcap_and_one_email(product_stack, admin, fresh_vm) -> None:
    response = post(product_stack, p.common_metric_static(targets=[fresh_vm.lower()], fired=fired_now()))
    assert response.status_code == 202, response.text
    (run,) = response.json()["runs"]
    assert run["outcome"] == "started" and run["statusQueryGetUri"]
    status = wait_for_run(product_stack, run["instanceId"])
    output = status["output"]
    assert status["runtimeStatus"] == "Completed" and output["status"] == "succeeded", output
    assert len(captures_for(admin, fresh_vm)) == 1
    (email,) = emails_for(admin, fresh_vm)
    assert email["status"] == "Succeeded" and output["email_message_id"] == email["id"]
    link = re.search(r"Download link: (\S+)", email["plain_text"]).group(1)
    assert link.startswith(output["storage_path"] + "?") and "sig=" in link
    pcap = httpx.get(link, verify=product_stack.ssl_context(), timeout=10)
    assert pcap.status_code == 200 and len(pcap.content) == output["size_bytes"]
    reader = dpkt.pcap.Reader(io.BytesIO(pcap.content))
    assert reader.datalink() in (dpkt.pcap.DLT_EN10MB, dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LINUX_SLL, 0, 1, 113)
    list(reader)  # every record parses


async def _post_many(state: DevstackState, bodies: list[Any]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        url = f"{state.function_host}/api/alerts"
        return await asyncio.gather(*(client.post(url, params={"code": state.function_key}, json=b)
                                      for b in bodies))


def test_retries_and_a_storm_in_the_window_still_give_one_capture(product_stack, admin, fresh_vm) -> None:
    same = p.common_metric_static(targets=[fresh_vm.lower()], fired=fired_now(1))
    storm = []
    for i in range(50):
        body = p.common_metric_static(targets=[fresh_vm], fired=fired_now(2 + i % 30))
        body["data"]["essentials"]["alertId"] = f"{p.ALERTS}/storm-{i}"
        storm.append(body)
    responses = asyncio.run(_post_many(product_stack, [same] * 5 + storm))
    errors = [r.text for r in responses if r.status_code not in (200, 202)]
    assert errors == []
    assert max(r.elapsed.total_seconds() for r in responses) < 5  # well inside Azure Monitor's ~10 s
    runs = [run for r in responses for run in r.json()["runs"]]
    assert len({run["instanceId"] for run in runs}) == 1
    assert sum(run["outcome"] == "started" for run in runs) == 1
    assert sum(run["outcome"] == "duplicate" for run in runs) == 54
    status = wait_for_run(product_stack, runs[0]["instanceId"])
    assert status["output"]["status"] == "succeeded", status["output"]
    # the 50 distinct storm alerts are recorded; the 4 retries of the first alert are not "extra"
    assert status["output"]["extra_alert_count"] == 50, status["output"]["extra_alert_count"]
    assert len(captures_for(admin, fresh_vm)) == 1
    assert len(emails_for(admin, fresh_vm)) == 1
    # a late retry of the same webhook after the run finished is still a duplicate
    late = post(product_stack, same)
    assert late.status_code == 200 and late.json()["runs"][0]["outcome"] == "duplicate"
    assert len(captures_for(admin, fresh_vm)) == 1


def test_resolved_alert_starts_nothing(product_stack, admin, fresh_vm) -> None:
    response = post(product_stack, p.common_metric_static(targets=[fresh_vm], condition="Resolved",
                                                          fired=fired_now()))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert "Resolved" in response.json()["reason"]
    assert captures_for(admin, fresh_vm) == [] and emails_for(admin, fresh_vm) == []


def test_bad_requests_are_client_errors_and_start_nothing(product_stack, admin, fresh_vm) -> None:
    url = f"{product_stack.function_host}/api/alerts"
    code = {"code": product_stack.function_key}
    # a fault that never fires (ratio 0) but counts every ARM call
    counter = admin.add_fault({"service": "arm", "operation": "*", "status": 500, "ratio": 0.0})
    no_key = httpx.post(url, json=p.common_metric_static(targets=[fresh_vm], fired=fired_now()), timeout=10)
    assert no_key.status_code == 401
    bad_json = httpx.post(url, params=code, content=b"{not json", timeout=10)
    assert bad_json.status_code == 400 and bad_json.json()["field"] == "$"
    sneaky = p.common_metric_static(targets=[fresh_vm + "/../../x"], fired=fired_now())
    traversal = post(product_stack, sneaky)
    assert traversal.status_code == 400 and traversal.json()["field"] == "target[0]"
    huge = httpx.post(url, params=code, content=b"{" + b" " * (300 * 1024) + b"}", timeout=10)
    assert huge.status_code == 413
    assert captures_for(admin, fresh_vm) == []
    (seen,) = [f["seen"] for f in admin.faults() if f["operation"] == counter["operation"]]
    assert seen == 0  # rejected before any ARM call


def test_arm_throttling_and_outages_do_not_change_the_outcome(product_stack, admin, fresh_vm) -> None:
    faults = [
        {"operation": "VirtualMachines_Get", "status": 503, "count": 2},
        {"operation": "NetworkWatchers_ListAll", "status": 429, "retry_after": 0.2, "count": 1},
        {"operation": "PacketCaptures_Create", "status": 429, "count": 1},
        {"operation": "PacketCaptures_GetStatus", "status": 429, "count": 1},
        {"operation": "PacketCaptures_Create", "status": 503, "count": 1},
    ]
    for fault in faults:
        admin.add_fault(fault)
    response = post(product_stack, p.common_metric_static(targets=[fresh_vm], fired=fired_now()))
    assert response.status_code == 202, response.text
    status = wait_for_run(product_stack, response.json()["runs"][0]["instanceId"])
    assert status["output"]["status"] == "succeeded", status["output"]
    assert len(captures_for(admin, fresh_vm)) == 1 and len(emails_for(admin, fresh_vm)) == 1
    assert all(f["fired"] >= 1 for f in admin.faults()), admin.faults()


def test_vm_without_agent_fails_with_that_reason_and_emails(product_stack, admin) -> None:
    vm_id = (f"/subscriptions/{product_stack.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
             f"Microsoft.Compute/virtualMachines/vm-e2e-noagent-{datetime.now(UTC):%H%M%S%f}")
    admin.add_vm({"id": vm_id, "location": "westeurope", "agent": False})
    response = post(product_stack, p.common_metric_static(targets=[vm_id], fired=fired_now()))
    status = wait_for_run(product_stack, response.json()["runs"][0]["instanceId"])
    assert status["output"]["status"] == "failed" and "agent" in status["output"]["reason"]
    assert captures_for(admin, vm_id) == []
    (email,) = emails_for(admin, vm_id)
    assert "FAILED" in email["subject"]


def test_scale_set_alert_captures_the_named_instance(product_stack, admin) -> None:
    vmss = (f"/subscriptions/{product_stack.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
            "Microsoft.Compute/virtualMachineScaleSets/vmss-web")
    body = p.common_metric_static(targets=[vmss.lower()], fired=fired_now())
    body["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = [
        {"name": "VMName", "value": "vmss-web_1"}]
    response = post(product_stack, body)
    assert response.status_code == 202, response.text
    status = wait_for_run(product_stack, response.json()["runs"][0]["instanceId"])
    assert status["output"]["status"] == "succeeded", status["output"]
    (capture,) = captures_for(admin, vmss)
    assert capture["targetType"] == "AzureVMSS" and capture["instances"] == ["vmss-web_1"]
    output = status["output"]
    assert [(f["instance"], f["url"]) for f in output["files"]] == [("vmss-web_1", capture["files"][0])]
    assert output["size_bytes"] == output["files"][0]["size_bytes"] >= 24


def burst_from(source: str, port: int, connections: int = 3, messages: int = 250) -> None:
    """Small TCP writes from ``source`` to 127.0.0.1:``port`` (the kernel completes the handshakes and
    buffers the data; nobody needs to accept). Paced at 2 ms: unpaced, Linux coalesces the writes
    (autocorking) and a loaded tcpdump drops packets, so the capture would not hold the burst."""
    for _ in range(connections):
        with socket.socket() as sock:
            sock.bind((source, 0))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(("127.0.0.1", port))
            for _ in range(messages):
                sock.sendall(b"alertcap triage burst ".ljust(1400, b"."))
                time.sleep(0.002)  # pacing the traffic, not waiting for anything


def test_the_email_says_what_the_capture_caught(product_stack, admin, fresh_vm) -> None:
    response = post(product_stack, p.common_metric_static(targets=[fresh_vm.lower()], fired=fired_now()))
    (run,) = response.json()["runs"]
    wait_until(lambda: [c for c in captures_for(admin, fresh_vm) if c["status"] == "Running"], 30,
               interval=0.05, message="the capture is running")
    with socket.socket() as sink:
        sink.bind(("127.0.0.1", 0))
        sink.listen(16)
        port = sink.getsockname()[1]
        burst_from("127.0.0.2", port)
        output = wait_for_run(product_stack, run["instanceId"])["output"]
    assert output["status"] == "succeeded", output
    (summary,) = output["triage"]["files"]
    ours = [row for row in summary["top_ports"] if row["port"] == port]
    assert ours and ours[0]["protocol"] == "TCP" and ours[0]["conversations"] == 3, summary["top_ports"]
    assert "127.0.0.2" in [t["address"] for t in summary["top_talkers_by_bytes"]]
    # the email names the burst's sender and its destination port, in both bodies
    (email,) = emails_for(admin, fresh_vm)
    plain = email["plain_text"]
    talkers = plain[plain.index("Top talkers (by bytes)"):plain.index("Top conversations")]
    ports = plain[plain.index("Top destination ports"):]
    assert re.search(r"^127\.0\.0\.2\s", talkers, re.MULTILINE), talkers
    assert re.search(rf"^TCP\s+{port}\s", ports, re.MULTILINE), ports
    assert re.search(r"^Verdict: .+$", plain, re.MULTILINE).group(0) == f"Verdict: {summary['verdict']}"
    assert "<td style='padding:3px 10px 3px 0;vertical-align:top;word-break:break-word'>127.0.0.2</td>" in \
        email["html"] and f">{port}</td>" in email["html"]

def test_after_down_and_up_an_old_run_keeps_its_capture_and_pcap_and_its_alert_is_a_duplicate(
        restartable_product_dir, monkeypatch) -> None:
    state_dir, config = restartable_product_dir, restartable_product_dir / "devstack.toml"
    with run_devstack(state_dir, config, host=True, timeout=120) as first, AdminClient(first) as admin:
        vm_id = (f"/subscriptions/{first.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
                 "Microsoft.Compute/virtualMachines/vm-e2e-restart")
        admin.add_vm({"id": vm_id, "location": "westeurope"})
        alert = p.common_metric_static(targets=[vm_id.lower()], fired=fired_now())
        (run,) = post(first, alert).json()["runs"]
        output = wait_for_run(first, run["instanceId"])["output"]
        assert output["status"] == "succeeded", output
    with run_devstack(state_dir, config, host=True, timeout=120) as second:
        arm = ArmClients.for_state(point_azure_env_at(second, monkeypatch))
        watcher, name = output["network_watcher"].rsplit("/", 1)[-1], output["capture_name"]
        (listed,) = [c for c in arm.network.packet_captures.list(WATCHER_RG, watcher) if c.name == name]
        assert listed.target.lower() == vm_id.lower()
        assert listed.storage_location.storage_path == output["storage_path"]
        pcap = arm.download(output["storage_path"])  # azure-storage-blob with the managed identity
        assert len(pcap) == output["size_bytes"]
        list(dpkt.pcap.Reader(io.BytesIO(pcap)))  # still a valid pcap
        replay = post(second, alert)
        assert replay.status_code == 200, replay.text
        (again,) = replay.json()["runs"]
        assert again["outcome"] == "duplicate" and again["instanceId"] == run["instanceId"]
        assert arm.network.packet_captures.get(WATCHER_RG, watcher, name).id == listed.id
        assert run_status(second, run["instanceId"])["output"]["capture_id"].lower() == listed.id.lower()
