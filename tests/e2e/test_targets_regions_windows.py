"""Issue 10 on the devstack: cooldown from the first alert across a slot boundary, scale-set instance
targets, and regions without a Network Watcher."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import product_payloads as p
import pytest

from core.naming import run_prefix, window_start
from devstack.product_testing import post, wait_for_run
from devstack.testing import AdminClient, DevstackState

WATCHERLESS_SUB = "00000000-0000-0000-0000-0000000000e2"  # the auto_create_stack's second subscription

_path = Path(__file__).with_name("test_alert_to_capture.py")
_spec = importlib.util.spec_from_file_location("e2e_alert_to_capture", _path)
assert _spec and _spec.loader
e2e = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("e2e_alert_to_capture", e2e)
_spec.loader.exec_module(e2e)

pytestmark = pytest.mark.e2e
COOLDOWN = 900  # the app's default ALERT_COOLDOWN_SECONDS


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def runs_of(state: DevstackState, vm_id: str) -> list[dict[str, Any]]:
    """Every run of the VM (the management API's list, filtered by the VM's instance-id prefix)."""
    response = httpx.get(f"{state.function_host}/runtime/webhooks/durabletask/instances",
                         params={"code": state.master_key, "instanceIdPrefix": run_prefix(vm_id)}, timeout=10)
    response.raise_for_status()
    return response.json()


async def _post_together(state: DevstackState, bodies: list[Any]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        url = f"{state.function_host}/api/alerts"
        return await asyncio.gather(*(client.post(url, params={"code": state.function_key}, json=b)
                                      for b in bodies))


def test_two_alerts_5_s_apart_across_a_boundary_give_one_run_one_capture_one_email(
        product_stack: DevstackState, admin: AdminClient, fresh_vm: str) -> None:
    boundary = window_start(datetime.now(UTC) - timedelta(seconds=10), COOLDOWN)  # a slot boundary, past
    bodies = []
    for i, offset in enumerate((-2.5, 2.5)):
        body = p.common_metric_static(targets=[fresh_vm], fired=iso(boundary + timedelta(seconds=offset)))
        body["data"]["essentials"]["alertId"] = f"{p.ALERTS}/straddle-{i}"
        bodies.append(body)
    responses = asyncio.run(_post_together(product_stack, bodies))
    assert all(r.status_code in (200, 202) for r in responses), [r.text for r in responses]
    for run in runs_of(product_stack, fresh_vm):
        wait_for_run(product_stack, run["instanceId"])
    live = [r for r in runs_of(product_stack, fresh_vm) if r["runtimeStatus"] != "Terminated"]
    assert len(live) == 1 and live[0]["output"]["status"] == "succeeded", live
    assert len(e2e.captures_for(admin, fresh_vm)) == 1
    assert len(e2e.emails_for(admin, fresh_vm)) == 1


def test_alert_naming_scale_set_instance_3_gets_one_scoped_capture_of_instance_3(
        product_stack: DevstackState, admin: AdminClient) -> None:
    vmss = (f"/subscriptions/{product_stack.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
            "Microsoft.Compute/virtualMachineScaleSets/vmss-web")
    # two hours back: clear of the cooldown of any other test's run on vmss-web in this session
    fired = iso(datetime.now(UTC) - timedelta(hours=2))
    body = p.common_metric_static(targets=[f"{vmss}/virtualMachines/3"], fired=fired)
    response = post(product_stack, body)
    assert response.status_code == 202, response.text
    (run,) = response.json()["runs"]
    assert run["target"].lower() == vmss.lower()
    output = wait_for_run(product_stack, run["instanceId"])["output"]
    assert output["status"] == "succeeded" and output["target_type"] == "AzureVMSS", output
    (capture,) = e2e.captures_for(admin, vmss)
    assert capture["instances"] == ["vmss-web_3"] and capture["targetType"] == "AzureVMSS"
    (only,) = output["files"]
    assert only["instance"] == "vmss-web_3" and only["url"] == capture["files"][0]
    assert only["size_bytes"] >= 24
    (email,) = e2e.emails_for(admin, vmss)
    assert f"Instance vmss-web_3: {only['url']}" in email["plain_text"]
    assert "Instance vmss-web_3 download link: https://" in email["plain_text"]


# --- regions without a Network Watcher -------------------------------------------------------------------

def test_region_without_watcher_fails_with_the_commands_to_run_when_auto_create_is_off(
        product_stack: DevstackState, admin: AdminClient) -> None:
    vm = (f"/subscriptions/{product_stack.subscription_id}/resourceGroups/rg-optout/providers/"
          f"Microsoft.Compute/virtualMachines/vm-nowatcher-{uuid.uuid4().hex[:6]}")
    admin.add_vm({"id": vm, "location": "brazilsouth", "networkWatcher": False})
    response = post(product_stack, p.common_metric_static(targets=[vm], fired=e2e.fired_now()))
    output = wait_for_run(product_stack, response.json()["runs"][0]["instanceId"])["output"]
    sub = product_stack.subscription_id
    assert output["status"] == "failed" and output["reason"] == (
        "no Network Watcher is enabled in region brazilsouth (NETWORK_WATCHER_AUTO_CREATE is off). Enable it "
        f"with: az group create --subscription {sub} --name NetworkWatcherRG --location brazilsouth (if the "
        f"group does not exist yet), then az network watcher configure --subscription {sub} --resource-group "
        "NetworkWatcherRG --locations brazilsouth --enabled true; or set NETWORK_WATCHER_AUTO_CREATE=true so "
        "alertcap creates it")
    assert e2e.captures_for(admin, vm) == []
    (email,) = e2e.emails_for(admin, vm)
    assert "FAILED" in email["subject"] and "az network watcher configure" in email["plain_text"]
    assert "--locations brazilsouth --enabled true" in email["html"]


def test_region_without_watcher_gets_group_watcher_and_capture_when_auto_create_is_on(
        auto_create_stack: DevstackState) -> None:
    """A subscription with no watcher at all: the run creates NetworkWatcherRG, the watcher, the capture."""
    vm = (f"/subscriptions/{WATCHERLESS_SUB}/resourceGroups/rg-e2/providers/Microsoft.Compute/"
          "virtualMachines/vm-sweden")
    with AdminClient(auto_create_stack) as admin:
        admin.add_vm({"id": vm, "location": "swedencentral", "networkWatcher": False})
        response = post(auto_create_stack, p.common_metric_static(targets=[vm], fired=e2e.fired_now()))
        assert response.status_code == 202, response.text
        output = wait_for_run(auto_create_stack, response.json()["runs"][0]["instanceId"])["output"]
        assert output["status"] == "succeeded", output
        watcher = "NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_swedencentral"
        assert output["network_watcher"] == f"/subscriptions/{WATCHERLESS_SUB}/resourceGroups/{watcher}"
        assert output["network_watcher_created_by_us"] is True
        assert len(e2e.captures_for(admin, vm)) == 1 and len(e2e.emails_for(admin, vm)) == 1


def test_scale_set_without_agent_gets_it_on_its_model_and_the_alerted_instance_then_a_capture(
        auto_create_stack: DevstackState) -> None:
    vmss = (f"/subscriptions/{auto_create_stack.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
            "Microsoft.Compute/virtualMachineScaleSets/vmss-bare")
    with AdminClient(auto_create_stack) as admin:
        admin.add_vm({"id": vmss, "location": "eastus", "agent": False,
                      "instances": ["vmss-bare_0", "vmss-bare_1"]})
        body = p.common_metric_static(targets=[f"{vmss}/virtualMachines/1"], fired=e2e.fired_now())
        response = post(auto_create_stack, body)
        assert response.status_code == 202, response.text
        output = wait_for_run(auto_create_stack, response.json()["runs"][0]["instanceId"])["output"]
        assert output["status"] == "succeeded" and output["agent_installed_by_us"] is True, output
        (capture,) = e2e.captures_for(admin, vmss)
        assert capture["instances"] == ["vmss-bare_1"]
        assert [f["instance"] for f in output["files"]] == ["vmss-bare_1"]
