"""Armed VMs on the devstack: the sentry keeps one continuous capture; an alert harvests the time before it.

Real parts throughout: the sentry HTTP API on the durable host (master key), the sentry orchestration, the
ARM emulator's continuous capture (tcpdump on loopback cut into ring files in Azurite), server-side copies
into incidents/<run id>/ under the managed identity, and the email's links.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import dpkt
import httpx
import product_payloads as p
import pytest

from core.sentry import sentry_instance_id
from devstack.product_testing import (
    Sink,
    packets_to,
    post,
    ring_captures,
    ring_packets,
    run_status,
    sentry_api,
    wait_for_run,
)
from devstack.testing import AdminClient, DevstackState, wait_until

pytestmark = pytest.mark.e2e
LOOKBACK = 300
RING_BUDGET = 96 * 1024  # 6 files of 16 KiB: the ~27 kB burst fills two of them
TRICKLE_PAUSE = 0.1  # traffic after the alert (~9 kB/s) closes the files the after part needs


def arm(state: DevstackState, admin: AdminClient, vm_id: str, port: int, **extra: Any) -> dict[str, Any]:
    body = {"target": vm_id, "lookback_seconds": LOOKBACK, "budget_bytes": RING_BUDGET, "after_seconds": 2,
            "watch_seconds": 2, "filters": [{"protocol": "TCP", "localPort": str(port)}], **extra}
    response = sentry_api(state, "POST", "arm", body)
    assert response.status_code == 202, response.text
    wait_until(lambda: ring_captures(admin, vm_id), 30, interval=0.2, message="the ring capture runs")
    return response.json()


def disarm_and_check(state: DevstackState, admin: AdminClient, vm_id: str) -> None:
    response = sentry_api(state, "POST", "disarm", {"target": vm_id})
    assert response.status_code == 202, response.text
    instance = sentry_instance_id(vm_id)
    status = wait_until(lambda: (s := run_status(state, instance)) and s["runtimeStatus"] == "Completed"
                        and s, 30, interval=0.2, message="the sentry ended")
    assert status["output"]["status"] == "disarmed"
    assert ring_captures(admin, vm_id, running_only=False) == [], "disarm leaves no session behind"
    assert sentry_api(state, "POST", "disarm", {"target": vm_id}).status_code == 404


def finish_with_trickle(state: DevstackState, sink: Sink, instance_id: str, timeout: float = 20) -> Any:
    """The run's output, sending a trickle of traffic until it is done (it closes the ring files the after
    part needs)."""
    deadline = time.monotonic() + timeout
    while (status := run_status(state, instance_id)) is None or \
            status["runtimeStatus"] not in ("Completed", "Failed"):
        assert time.monotonic() < deadline, "the run did not finish"
        sink.burst(1)
        time.sleep(TRICKLE_PAUSE)  # pacing the traffic generator, not waiting for a result
    return wait_for_run(state, instance_id)["output"]


def burst_then_alert(state: DevstackState, sink: Sink, target: str, connections: int = 30,
                     timeout: float = 20) -> tuple[float, datetime, str, Any]:
    """A burst to the sink, then an alert for `target`; returns when the burst began, the alert's fired
    time, the run's instance id and its output (a trickle of traffic runs until the run is done)."""
    burst_started = time.time()
    sink.burst(connections)
    fired = datetime.now(UTC)
    body = p.common_metric_static(targets=[target.lower()], fired=fired.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    response = post(state, body)
    assert response.status_code == 202, response.text
    (run,) = response.json()["runs"]
    run_id = run["instanceId"]
    return burst_started, fired, run_id, finish_with_trickle(state, sink, run_id, timeout)


def incident_packets(state: DevstackState, admin: AdminClient, run_id: str, port: int,
                     label: str = r"Incident file \d+") -> tuple[str, list[tuple[float, dpkt.tcp.TCP]]]:
    """The run's email text and the packets to `port` in the incident files its links download (one link per
    file of the run)."""
    (email,) = [e for e in admin.emails() if run_id in e["plain_text"]]
    links = re.findall(rf"{label}: (\S+)", email["plain_text"])
    assert links, email["plain_text"]
    packets = []
    for link in links:
        assert f"/incidents/{run_id}/" in link and "sig=" in link
        blob = httpx.get(link, verify=state.ssl_context(), timeout=10)
        assert blob.status_code == 200
        packets += packets_to(blob.content, port)
    status = run_status(state, run_id)
    assert status is not None and len(links) == len(status["output"]["files"])
    return email["plain_text"], packets


def test_the_api_needs_the_master_key_and_names_bad_fields(product_stack, admin, fresh_vm):
    assert sentry_api(product_stack, "GET", key=product_stack.function_key).status_code == 401
    bad = sentry_api(product_stack, "POST", "arm", {"target": fresh_vm, "lookback_seconds": "15m"})
    assert bad.status_code == 400 and bad.json()["field"] == "lookback_seconds"
    assert sentry_api(product_stack, "POST", "arm", {"target": "vm-1"}).json()["field"] == "target"
    assert sentry_api(product_stack, "POST", "disarm", {"target": fresh_vm}).status_code == 404


def test_armed_vm_alert_harvests_the_burst_from_before_the_alert(product_stack, admin, fresh_vm):
    sink = Sink()
    try:
        armed = arm(product_stack, admin, fresh_vm, sink.port)
        assert armed["instanceId"] == sentry_instance_id(fresh_vm) and armed["file_count"] == 6
        assert armed["file_size_bytes"] == RING_BUDGET // 6
        again = sentry_api(product_stack, "POST", "arm", {"target": fresh_vm})
        assert again.status_code == 200 and again.json()["outcome"] == "already armed"
        burst_started, fired, run_id, output = burst_then_alert(product_stack, sink, fresh_vm)
        assert output["status"] == "succeeded", output
        assert output["armed"] is True and output["files"]
        listed = sentry_api(product_stack, "GET").json()["sentries"]
        assert [s["target"] for s in listed if s["target"] == fresh_vm] == [fresh_vm]
        assert len(ring_captures(admin, fresh_vm)) == 1, "still exactly one continuous capture"
        captures_started = [c for c in admin.captures() if c["target"].lower() == fresh_vm.lower()]
        assert all(c.get("continuous") for c in captures_started), "no second (alert) capture was started"
        text, packets = incident_packets(product_stack, admin, run_id, sink.port)
        assert re.search(r"covering \d+ s before and \d+ s after the alert", text)
        first_syn = min(when for when, tcp in packets if tcp.flags & dpkt.tcp.TH_SYN)
        assert burst_started - 0.5 <= first_syn <= burst_started + 1.0, "the burst's first packet is there"
        assert output["incident_before_seconds"] >= (fired.timestamp() - first_syn) - 0.5
    finally:
        sink.close()
    disarm_and_check(product_stack, admin, fresh_vm)


def test_armed_scale_set_alert_for_one_instance_harvests_that_instances_ring(product_stack, admin):
    vmss = (f"/subscriptions/{product_stack.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
            f"Microsoft.Compute/virtualMachineScaleSets/ss-{uuid.uuid4().hex[:6]}")
    name = vmss.rsplit("/", 1)[-1]
    admin.add_vm({"id": vmss, "location": "westeurope", "instances": [f"{name}_0", f"{name}_1"]})
    instance_id = f"{vmss}/virtualMachines/1"
    sink = Sink()
    try:
        refused = sentry_api(product_stack, "POST", "arm", {"target": instance_id})
        assert refused.status_code == 400 and "scale set" in refused.json()["message"]
        armed = arm(product_stack, admin, vmss, sink.port)
        assert armed["target"] == vmss
        (ring,) = ring_captures(admin, vmss)
        assert ring["targetType"] == "AzureVMSS" and ring["instances"] == [f"{name}_0", f"{name}_1"]
        burst_started, _, run_id, output = burst_then_alert(product_stack, sink, instance_id)
        assert output["status"] == "succeeded" and output["armed"] is True, output
        assert output["files"] and {f["instance"] for f in output["files"]} == {f"{name}_1"}
        assert all(f"/incidents/{run_id}/{name}_1/" in f["url"] for f in output["files"])
        captures_started = [c for c in admin.captures() if c["target"].lower() == vmss.lower()]
        assert all(c.get("continuous") for c in captures_started), "no second (alert) capture was started"
        _, packets = incident_packets(product_stack, admin, run_id, sink.port,
                                      label=rf"Incident file \d+ \({name}_1\)")
        first_syn = min(when for when, tcp in packets if tcp.flags & dpkt.tcp.TH_SYN)
        assert burst_started - 0.5 <= first_syn <= burst_started + 1.0, "the burst's first packet is there"
    finally:
        sink.close()
    disarm_and_check(product_stack, admin, vmss)


def test_a_renewal_inside_the_after_window_still_gives_the_whole_window(product_stack, admin, fresh_vm):
    after = 14
    sink = Sink()
    # the session is renewed ~10 s after it starts: once, inside [fired, fired + after]; 31 files of 8 KiB
    # (a file closes about every second, the ring holds the whole test)
    try:
        arm(product_stack, admin, fresh_vm, sink.port, session_seconds=60, renew_margin_seconds=50,
            after_seconds=after, lookback_seconds=1800, budget_bytes=31 * 8192)
        burst_started, fired_at, run_id, output = burst_then_alert(product_stack, sink, fresh_vm, 10, 45)
        view = next(s for s in sentry_api(product_stack, "GET").json()["sentries"] if s["target"] == fresh_vm)
    finally:
        sink.close()
    assert output["status"] == "succeeded", output["reason"]
    assert view["renewals"] >= 1 and view["last_gap_seconds"] is not None
    _, found = incident_packets(product_stack, admin, run_id, sink.port)
    end = fired_at.timestamp() + after
    allowed = view["max_gap_seconds"] + 0.5  # the renewal gap + scheduling
    # the harvest: every packet the ring captured from the burst to fired + after is in the incident, the part
    # after the renewal included
    ring = [when for when, _ in ring_packets(product_stack, fresh_vm, sink.port)]
    wanted = [when for when in ring if burst_started - 0.1 <= when <= end - 0.5]
    harvested = {when for when, _ in found}
    assert wanted and [when for when in wanted if when not in harvested] == []
    # the capture: every connection sent after the alert is in it, except inside one stretch no longer than
    # the renewal gap (the traffic's own pauses under load are not a loss)
    captured = {tcp.sport for _, tcp in found if tcp.flags & dpkt.tcp.TH_SYN}
    trickle = [(t, port) for t, port in sink.sent if fired_at.timestamp() + 0.5 <= t <= end - 0.5]
    assert len(trickle) >= 10, "the trickle ran through the after-window"
    missing = [t for t, port in trickle if port not in captured]
    assert not missing or max(missing) - min(missing) <= allowed, (
        f"{len(missing)} of {len(trickle)} connections missing over {max(missing) - min(missing):.1f} s; "
        f"renewal gap {view['max_gap_seconds']}")
    assert output["incident_after_seconds"] >= after - allowed
    disarm_and_check(product_stack, admin, fresh_vm)


def test_renewal_keeps_one_session_at_a_time_and_measures_the_gap(product_stack, admin, fresh_vm):
    sink = Sink()
    try:
        arm(product_stack, admin, fresh_vm, sink.port, session_seconds=60, renew_margin_seconds=56)
        most = 0
        deadline = time.monotonic() + 30

        def renewed_twice() -> dict[str, Any] | None:
            nonlocal most
            most = max(most, len(ring_captures(admin, fresh_vm)))
            assert time.monotonic() < deadline
            view = next((s for s in sentry_api(product_stack, "GET").json()["sentries"]
                         if s["target"] == fresh_vm), None)
            return view if view and view["renewals"] >= 2 and view["last_gap_seconds"] is not None else None

        view = wait_until(renewed_twice, 30, interval=0.05, message="two renewals")
        assert most == 1, "never two continuous captures at once"
        assert 0 <= view["last_gap_seconds"] < 10
        assert view["generation"] >= 3 and len(view["storage_paths"]) >= 2
    finally:
        sink.close()
    disarm_and_check(product_stack, admin, fresh_vm)


def test_cli_arms_lists_and_disarms(product_stack, admin, fresh_vm):
    from typer.testing import CliRunner

    from alertcap_cli.main import app

    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(app, ["--state-dir", product_stack.state_dir, *args])

    bad = cli("sentry", "arm", "--vm", fresh_vm, "--lookback", "15x")
    assert bad.exit_code == 2 and "--lookback" in bad.stderr
    assert cli("sentry", "arm", "--vm", "vm-1").exit_code == 2
    armed = cli("-o", "json", "sentry", "arm", "--vm", fresh_vm, "--lookback", "2m", "--budget", "64KiB")
    assert armed.exit_code == 0, armed.stderr
    reply = json.loads(armed.stdout)
    assert reply["outcome"] == "armed" and reply["file_count"] == 3 and reply["budget_bytes"] == 65536
    wait_until(lambda: ring_captures(admin, fresh_vm), 30, interval=0.2, message="the ring capture runs")
    listed = cli("sentry", "list")
    assert listed.exit_code == 0 and fresh_vm.rsplit("/", 1)[-1] in listed.stdout
    assert cli("sentry", "disarm", "--vm", fresh_vm).exit_code == 0
    wait_until(lambda: not ring_captures(admin, fresh_vm, running_only=False), 30, interval=0.2,
               message="disarmed")
    instance = sentry_instance_id(fresh_vm)
    wait_until(lambda: run_status(product_stack, instance)["runtimeStatus"] == "Completed", 30, interval=0.2,
               message="the sentry ended")
    again = cli("sentry", "disarm", "--vm", fresh_vm)
    assert again.exit_code == 3 and "not armed" in again.stderr
