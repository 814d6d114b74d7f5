"""The activities through the real Azure SDKs against the devstack's ARM, ACS and Azurite emulators."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError

from activities import clients, compute_ops, network_ops, notify
from activities.errors import outcome_activity
from core.capture_contract import CaptureCreateRequest, CaptureRef, RegionRequest
from core.capture_files import DescribedCapture, DescribeRequest
from core.compute_contract import AgentCheckRequest, AgentInstallRequest, LocateRequest
from core.email_contract import EmailRequest
from core.naming import capture_name
from core.orchestration import RUN_SUCCEEDED
from core.records import RunRecord
from core.targets import Target
from core.watchers import WatcherListRequest
from devstack.testing import AdminClient, DevstackState, isolated_azure_env, wait_until

SETTINGS = {"ARM_POLLING_INTERVAL_SECONDS": "0.05", "CAPTURE_TIME_LIMIT_SECONDS": "2"}


@pytest.fixture
def azure(devstack_state: DevstackState, monkeypatch: pytest.MonkeyPatch) -> Iterator[DevstackState]:
    """Process environment = the function app's settings on this devstack; fresh SDK clients."""
    env = isolated_azure_env(devstack_state, {**devstack_state.app_settings, **SETTINGS})
    for key in list(os.environ):
        if key.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clients.reset()
    yield devstack_state
    clients.reset()


def vm_id(state: DevstackState, name: str, group: str = "rg-alertcap-demo") -> str:
    return f"/subscriptions/{state.subscription_id}/resourceGroups/{group}/providers/Microsoft.Compute/" \
           f"virtualMachines/{name}"


def watcher_for(state: DevstackState, location: str) -> str:
    outcome = outcome_activity(network_ops.list_watchers)(WatcherListRequest(state.subscription_id))
    return next(w["id"] for w in outcome["value"]["watchers"] if w["location"] == location)


def capture_config(state: DevstackState, seconds: int = 2) -> dict:
    return {"storage_account_id": state.capture_storage_account_id, "time_limit_seconds": seconds,
            "bytes_per_packet": 0, "total_bytes": 1073741824, "filters": []}


def create_capture(watcher: str, name: str, target: Target, config: dict) -> dict:
    return outcome_activity(network_ops.create_capture)(CaptureCreateRequest(watcher, name, target, config))


def check_agent(target_id: str, target_type: str = "AzureVM", scope: tuple[str, ...] = ()) -> dict:
    return outcome_activity(compute_ops.check_agent)(AgentCheckRequest(target_id, target_type, scope))


def install_agent(target_id: str, target_type: str = "AzureVM", scope: tuple[str, ...] = ()) -> dict:
    request = AgentInstallRequest(target_id, target_type, "eastus", "linux", scope)
    return outcome_activity(compute_ops.install_agent)(request)


def wait_stopped(capture_id: str) -> dict:
    def stopped() -> dict | None:
        status = outcome_activity(network_ops.query_capture)(CaptureRef(capture_id))["value"]
        return status if status["status"] == "Stopped" else None

    return wait_until(stopped, 20, interval=0.2, message="capture stopped")


def wait_blob(capture_id: str, expected_files: int = 0) -> dict:
    def uploaded() -> dict | None:
        request = DescribeRequest(capture_id, expected_files)
        described = outcome_activity(network_ops.describe_capture)(request)["value"]
        return described if described["size_bytes"] is not None else None

    return wait_until(uploaded, 20, interval=0.2, message="blob uploaded")


def test_locate_reads_region_os_and_power_state(azure: DevstackState) -> None:
    outcome = outcome_activity(compute_ops.locate_target)(LocateRequest(vm_id(azure, "vm-web-01"), "AzureVM"))
    assert outcome["ok"] is True
    assert outcome["value"]["location"] == "westeurope" and outcome["value"]["power_state"] == "running"
    assert outcome["value"]["os_type"] == "linux"


def test_missing_vm_is_a_permanent_failure_not_an_exception(azure: DevstackState) -> None:
    outcome = outcome_activity(compute_ops.locate_target)(LocateRequest(vm_id(azure, "vm-gone"), "AzureVM"))
    assert outcome["ok"] is False and outcome["error_code"] in ("ResourceNotFound", "NotFound")


def test_forbidden_is_a_permanent_failure(azure: DevstackState, devstack_admin: AdminClient) -> None:
    devstack_admin.remove_role_assignments(azure.principal_id)
    outcome = outcome_activity(compute_ops.locate_target)(LocateRequest(vm_id(azure, "vm-web-01"), "AzureVM"))
    assert outcome["ok"] is False and outcome["error_code"] == "AuthorizationFailed"


def test_throttled_post_without_retry_after_is_raised_for_the_retry_policy(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    name = capture_name("alertcap-" + "1" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    created = create_capture(watcher, name, target, capture_config(azure))
    devstack_admin.add_fault({"operation": "PacketCaptures_GetStatus", "status": 429, "count": 1})
    with pytest.raises(HttpResponseError) as info:
        outcome_activity(network_ops.query_capture)(CaptureRef(created["value"]["id"]))
    assert info.value.status_code == 429
    assert outcome_activity(network_ops.query_capture)(CaptureRef(created["value"]["id"]))["ok"] is True


@pytest.mark.parametrize(("status", "code"), [(401, "InvalidAuthenticationToken"), (410, "Gone")])
def test_every_other_client_error_is_permanent(
        azure: DevstackState, devstack_admin: AdminClient, status: int, code: str) -> None:
    devstack_admin.add_fault({"operation": "VirtualMachines_Get", "status": status, "code": code, "count": 1})
    outcome = outcome_activity(compute_ops.locate_target)(LocateRequest(vm_id(azure, "vm-web-01"), "AzureVM"))
    assert outcome["ok"] is False and outcome["error_code"] == code


@pytest.mark.parametrize(("status", "code"), [
    (408, "RequestTimeout"), (409, "AnotherOperationInProgress"),
    (400, "RetryableErrorDueToAnotherOperation")])
def test_request_timeouts_and_busy_resources_are_raised_for_the_retry_policy(
        azure: DevstackState, devstack_admin: AdminClient, status: int, code: str) -> None:
    name = capture_name("alertcap-" + "9" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    created = create_capture(watcher, name, target, capture_config(azure, 600))
    # a POST: azure-core's own retry policy leaves these to us
    devstack_admin.add_fault({"operation": "PacketCaptures_Stop", "status": status, "code": code, "count": 1})
    with pytest.raises(HttpResponseError) as info:
        outcome_activity(network_ops.stop_capture)(CaptureRef(created["value"]["id"]))
    assert info.value.status_code == status
    assert outcome_activity(network_ops.stop_capture)(CaptureRef(created["value"]["id"]))["ok"] is True


def test_agent_is_found_by_publisher_and_type_and_can_be_installed(
    azure: DevstackState, devstack_admin: AdminClient
) -> None:
    installed = check_agent(vm_id(azure, "vm-web-01"))
    assert installed["value"]["installed"] is True
    missing_vm = vm_id(azure, "vm-noagent", "rg-alertcap-east")
    assert check_agent(missing_vm)["value"]["installed"] is False
    # infra/ grants virtualMachines/extensions/write only with agentAutoInstall (roles/agent-installer.json)
    denied = install_agent(missing_vm)
    assert denied["ok"] is False and "extensions/write" in str(denied), denied
    devstack_admin.add_role_assignment(azure.principal_id, "alertcap network watcher agent installer",
                                       f"/subscriptions/{azure.subscription_id}")
    done = install_agent(missing_vm)
    assert done["ok"] is True, done
    assert check_agent(missing_vm)["value"]["installed"] is True


def test_create_is_idempotent_and_the_capture_finishes_with_a_blob(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    name = capture_name("alertcap-" + "2" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    first = create_capture(watcher, name, target, capture_config(azure))
    second = create_capture(watcher, name, target, capture_config(azure))
    assert first["ok"] and second["ok"] and first["value"]["id"] == second["value"]["id"]
    assert len([c for c in devstack_admin.captures() if c["name"] == name]) == 1
    capture_id = first["value"]["id"]
    assert wait_stopped(capture_id)["stop_reason"] == "TimeExceeded"
    described = wait_blob(capture_id)
    assert described["size_bytes"] > 24 and described["storage_path"].startswith("https://")


def test_create_after_the_capture_stopped_reads_it_back_and_starts_no_second_one(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    """Issue 9 defect 1: a retried create once the first capture had stopped used to PUT it again."""
    name = capture_name(vm_id(azure, "vm-web-01"), datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    first = create_capture(watcher, name, target, capture_config(azure))
    wait_stopped(first["value"]["id"])
    path = wait_blob(first["value"]["id"])["storage_path"]
    again = create_capture(watcher, name, target, capture_config(azure))
    assert again["ok"] and again["value"]["existed"] is True and again["value"]["id"] == first["value"]["id"]
    status = outcome_activity(network_ops.query_capture)(CaptureRef(first["value"]["id"]))["value"]
    assert status["status"] == "Stopped", "the stopped capture was started again"
    request = DescribeRequest(first["value"]["id"], 1)
    described = outcome_activity(network_ops.describe_capture)(request)["value"]
    assert described["storage_path"] == path
    assert len([c for c in devstack_admin.captures() if c["name"] == name]) == 1


def test_stopping_a_capture_twice_is_harmless(azure: DevstackState) -> None:
    name = capture_name(vm_id(azure, "vm-web-01") + "/twice", datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    created = create_capture(watcher, name, target, capture_config(azure, 600))
    first = outcome_activity(network_ops.stop_capture)(CaptureRef(created["value"]["id"]))
    second = outcome_activity(network_ops.stop_capture)(CaptureRef(created["value"]["id"]))
    assert first == {"ok": True, "value": {"stopped": True}, "error_code": "", "message": ""}
    assert second["ok"] is True and second["value"]["stopped"] is False


def test_stop_ends_a_running_capture(azure: DevstackState) -> None:
    name = capture_name("alertcap-" + "3" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    created = create_capture(watcher, name, target, capture_config(azure, 600))
    assert outcome_activity(network_ops.stop_capture)(CaptureRef(created["value"]["id"]))["ok"] is True
    status = outcome_activity(network_ops.query_capture)(CaptureRef(created["value"]["id"]))["value"]
    assert status["status"] == "Stopped" and status["stop_reason"] == "Manual"


def test_cleanup_deletes_only_our_finished_stale_captures(azure: DevstackState) -> None:
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    old = datetime.now(UTC) - timedelta(days=3)
    stale_done = capture_name("alertcap-" + "4" * 24, old)
    stale_running = capture_name("alertcap-" + "5" * 24, old)
    fresh = capture_name("alertcap-" + "6" * 24, datetime.now(UTC))
    done_id = create_capture(watcher, stale_done, target, capture_config(azure, 600))["value"]["id"]
    outcome_activity(network_ops.stop_capture)(CaptureRef(done_id))
    create_capture(watcher, stale_running, target, capture_config(azure, 600))
    create_capture(watcher, fresh, target, capture_config(azure, 600))
    create_capture(watcher, "PSAzureFunction", target, capture_config(azure, 600))
    region = RegionRequest(watcher, datetime.now(UTC).isoformat(), 86400)
    outcome = outcome_activity(network_ops.prepare_region)(region)
    assert outcome["value"]["deleted"] == [stale_done]
    assert outcome["value"]["session_count"] == 3


def test_email_links_the_capture_with_a_user_delegation_sas(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    name = capture_name("alertcap-" + "7" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    created = create_capture(watcher, name, target, capture_config(azure, 1))
    described = wait_blob(created["value"]["id"])
    record = RunRecord(instance_id="alertcap-" + "7" * 24, target=target.id, target_type="AzureVM",
                       alert={"rule": "<b>rule</b>"}, status=RUN_SUCCEEDED, capture_name=name,
                       storage_path=described["storage_path"], size_bytes=described["size_bytes"])
    sent = outcome_activity(notify.send_email)(EmailRequest(record, "0b5e1f0c-7b1c-4a8e-9f55-2f6a4f4b9c11"))
    assert sent["ok"] is True, sent
    (email,) = devstack_admin.emails()
    assert email["id"] == sent["value"]["message_id"]
    link = re.search(r"Download link: (\S+)", email["plain_text"]).group(1)
    assert "skoid=" in link and "sig=" in link and "&lt;b&gt;rule" in email["html"]
    again = outcome_activity(notify.send_email)(EmailRequest(record, "0b5e1f0c-7b1c-4a8e-9f55-2f6a4f4b9c11"))
    assert again["ok"] is True and len(devstack_admin.emails()) == 1  # same Operation-Id: sent once


def test_scale_set_capture_lists_one_file_per_instance_and_the_email_links_each(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    name = capture_name("alertcap-" + "b" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "eastus")
    vmss = (f"/subscriptions/{azure.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
            "Microsoft.Compute/virtualMachineScaleSets/vmss-web")
    target = Target(vmss, "AzureVMSS", ("3", "0"))
    created = create_capture(watcher, name, target, capture_config(azure, 1))
    folder = created["value"]["storage_path"]
    assert folder and not folder.endswith(".cap")  # a scale set's capture is a folder
    described = DescribedCapture.from_dict(wait_blob(created["value"]["id"], expected_files=2))
    assert described.storage_path == folder and described.complete
    assert [(f.instance, f.url) for f in described.files] == [
        ("vmss-web_0", f"{folder}/vmss-web_0.cap"), ("vmss-web_3", f"{folder}/vmss-web_3.cap")]
    assert all(f.size_bytes >= 24 for f in described.files)  # at least a pcap header each
    assert described.size_bytes == sum(f.size_bytes for f in described.files)
    record = RunRecord(instance_id="alertcap-" + "b" * 24, target=vmss, target_type="AzureVMSS",
                       alert={"rule": "r"}, status=RUN_SUCCEEDED, capture_name=name, storage_path=folder,
                       size_bytes=described.size_bytes, files=list(described.files))
    sent = outcome_activity(notify.send_email)(EmailRequest(record, "9a1c55e2-3d0b-4c6f-8e1a-5b2d7c9f0a31"))
    assert sent["ok"] is True, sent
    (email,) = devstack_admin.emails()
    text = email["plain_text"]
    assert f"Folder: {folder}" in text and "in 2 files" in text and "\nDownload link:" not in text
    for instance in ("vmss-web_0", "vmss-web_3"):
        assert f"Instance {instance}: {folder}/{instance}.cap (" in text
        link = re.search(rf"Instance {instance} download link: (\S+)", text).group(1)
        assert link.startswith(f"{folder}/{instance}.cap?") and "sig=" in link
    assert email["html"].count("Download the capture (.cap)") == 2


def test_email_goes_out_without_a_link_when_the_link_cannot_be_made(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    # a blob URL on a host that refuses the storage token (the ARM emulator answers 401): no delegation key
    blob = f"{azure.arm_endpoint}/caps/network-watcher-logs/x.cap"
    record = RunRecord(instance_id="alertcap-" + "a" * 24, target=vm_id(azure, "vm-web-01"),
                       target_type="AzureVM", alert={"rule": "r"}, status=RUN_SUCCEEDED, size_bytes=10,
                       capture_name="alertcap-x", storage_path=blob)
    sent = outcome_activity(notify.send_email)(EmailRequest(record, "5d8c0a3e-1f4b-4c1e-9a57-0b7f3c2d1e10"))
    assert sent["ok"] is True, sent
    (email,) = devstack_admin.emails()
    assert "Download link" not in email["plain_text"] and f"Blob: {blob}" in email["plain_text"]


def test_invalid_capture_parameters_are_a_permanent_failure(azure: DevstackState) -> None:
    name = capture_name("alertcap-" + "8" * 24, datetime.now(UTC))
    watcher = watcher_for(azure, "westeurope")
    target = Target(vm_id(azure, "vm-web-01"), "AzureVM")
    config = capture_config(azure, 18001)  # above Network Watcher's 5 h maximum
    outcome = create_capture(watcher, name, target, config)
    assert outcome["ok"] is False and outcome["message"].startswith("HTTP 400")


def test_agent_on_a_scale_set_goes_on_its_model_then_on_the_captured_instances_only(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    name = f"vmss-noagent-{uuid.uuid4().hex[:6]}"
    vmss = (f"/subscriptions/{azure.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
            f"Microsoft.Compute/virtualMachineScaleSets/{name}")
    devstack_admin.add_vm({"id": vmss, "location": "eastus", "agent": False,
                           "instances": [f"{name}_0", f"{name}_1", f"{name}_2"]})
    assert check_agent(vmss, "AzureVMSS", ("1",))["value"]["installed"] is False
    # infra/ grants the scale-set extension write and manualUpgrade only with agentAutoInstall
    devstack_admin.add_role_assignment(azure.principal_id, "alertcap network watcher agent installer",
                                       f"/subscriptions/{azure.subscription_id}")
    installed = install_agent(vmss, "AzureVMSS", ("1",))
    assert installed["ok"] is True and installed["value"]["upgraded"] == ["1"], installed
    assert check_agent(vmss, "AzureVMSS", ("1",))["value"]["installed"] is True
    whole = check_agent(vmss, "AzureVMSS")["value"]  # the model has the agent; 0 and 2 run the old model
    assert whole["installed"] is False and whole["outdated"] == ["0", "2"]
    refused = install_agent(vmss, "AzureVMSS")
    assert refused["ok"] is False and refused["error_code"] == "ScaleSetModelPending"
    assert f"az vmss update-instances --resource-group rg-alertcap-east --name {name} --instance-ids 0 2" in \
        refused["message"]
    watcher = watcher_for(azure, "eastus")
    config = capture_config(azure, 600)
    scoped = Target(vmss, "AzureVMSS", ("1",))
    created = create_capture(watcher, "pc-agent-1", scoped, config)
    assert created["ok"] is True, created
    lagging = replace(scoped, scope_include=("0",))
    outcome = create_capture(watcher, "pc-agent-0", lagging, config)
    assert outcome["ok"] is False and f"{name}_0" in outcome["message"]
    outcome_activity(network_ops.stop_capture)(CaptureRef(created["value"]["id"]))


def test_scale_set_agent_install_without_write_access_is_a_permanent_failure_naming_the_action(
        azure: DevstackState, devstack_admin: AdminClient) -> None:
    name = f"vmss-norole-{uuid.uuid4().hex[:6]}"
    vmss = (f"/subscriptions/{azure.subscription_id}/resourceGroups/rg-alertcap-east/providers/"
            f"Microsoft.Compute/virtualMachineScaleSets/{name}")
    devstack_admin.add_vm({"id": vmss, "location": "eastus", "agent": False})
    devstack_admin.remove_role_assignments(azure.principal_id)
    subscription = f"/subscriptions/{azure.subscription_id}"
    devstack_admin.add_role_assignment(azure.principal_id, "Reader", subscription)
    outcome = install_agent(vmss, "AzureVMSS")
    assert outcome["ok"] is False and "virtualMachineScaleSets/extensions/write" in outcome["message"]
