"""A devstack's state is all or nothing across `up` restarts: VMs added at run time, captures (listed through
azure-mgmt-network), their blobs (read through azure-storage-blob) and the ACS outbox come back after down/up;
a capture that was running comes back as an interrupted agent shows it; `/_devstack/reset` is persisted too;
`up --fresh` starts empty; a damaged persisted file stops `up` with exit 2 and a message (no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from contextlib import nullcontext
from pathlib import Path

import pytest
from azure.communication.email import EmailClient
from azure.core.exceptions import ResourceNotFoundError

from devstack.arm.testing import WATCHER_RG, ArmClients, Listener
from devstack.paths import REPO_ROOT
from devstack.testing import (
    AdminClient,
    DevstackState,
    loopback_config,
    point_azure_env_at,
    run_devstack,
    wait_until,
)

REGION = "northeurope"
WATCHER = f"NetworkWatcher_{REGION}"


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch):
    """`sdk_env(state)`: SDK clients for that devstack, the environment pointing at it."""
    return lambda state: nullcontext(ArmClients.for_state(point_azure_env_at(state, monkeypatch)))


def send_email(state: DevstackState, subject: str) -> str:
    """Send one email through azure-communication-email; returns its operation id."""
    message = {
        "senderAddress": "DoNotReply@alertcap.localhost",
        "recipients": {"to": [{"address": "oncall@alertcap.localhost"}]},
        "content": {"subject": subject, "plainText": "kept across restarts"},
    }
    client = EmailClient.from_connection_string(state.acs_connection_string)
    result = client.begin_send(message, polling_interval=0).result()
    assert result["status"] == "Succeeded"
    return result["id"]


def capture_names(arm: ArmClients) -> set[str]:
    return {c.name for c in arm.network.packet_captures.list(WATCHER_RG, WATCHER)}


def status(arm: ArmClients, name: str):
    return arm.network.packet_captures.begin_get_status(WATCHER_RG, WATCHER, name).result()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ds"
    path.mkdir()
    loopback_config(path / "devstack.toml")
    return path


def up(state_dir: Path, *extra: str):
    return run_devstack(state_dir, config_path=state_dir / "devstack.toml", host=False, extra_args=extra)


def test_everything_comes_back_after_down_and_up_and_only_fresh_forgets_it(state_dir: Path, sdk_env) -> None:
    with up(state_dir) as first, AdminClient(first) as admin, sdk_env(first) as arm:
        vm_id = arm.vm_id("rg-persist", "vm-added-at-run-time")
        admin.add_vm({"id": vm_id, "location": REGION})
        with Listener() as listener:
            arm.create("pc-done", vm_id, region=REGION, timeLimitInSeconds=60)
            listener.send(times=3)
            arm.network.packet_captures.begin_stop(WATCHER_RG, WATCHER, "pc-done").result()
        done = arm.wait_stopped("pc-done", region=REGION)
        assert done.packet_capture_status == "Stopped" and done.stop_reason == "Manual"
        result = arm.network.packet_captures.get(WATCHER_RG, WATCHER, "pc-done")
        blob_url = result.storage_location.storage_path
        pcap = arm.download(blob_url)
        assert len(pcap) > 24  # a pcap header and some packets
        arm.create("pc-running", vm_id, region=REGION, timeLimitInSeconds=600)
        assert status(arm, "pc-running").packet_capture_status == "Running"
        email_id = send_email(first, "before the restart")

    with up(state_dir) as second, AdminClient(second) as admin, sdk_env(second) as arm:
        assert second.blob_endpoint == first.blob_endpoint and second.arm_endpoint == first.arm_endpoint
        vm = arm.compute.virtual_machines.get("rg-persist", "vm-added-at-run-time")
        assert vm.id.lower() == vm_id.lower() and vm.location == REGION
        assert capture_names(arm) == {"pc-done", "pc-running"}
        done = status(arm, "pc-done")
        assert (done.packet_capture_status, done.stop_reason) == ("Stopped", "Manual")
        assert done.packet_capture_error == []
        assert arm.download(blob_url) == pcap
        interrupted = status(arm, "pc-running")
        assert interrupted.packet_capture_status == "Error"
        assert interrupted.packet_capture_error == ["AgentStopped"] and not interrupted.stop_reason
        (email,) = admin.emails()
        assert email["id"] == email_id and email["subject"] == "before the restart"
        assert b"Subject: before the restart" in admin.email_eml(email_id)
        # a name can be used again once its capture is no longer running; deleting works on restored ones
        arm.network.packet_captures.begin_delete(WATCHER_RG, WATCHER, "pc-running").result()
        assert capture_names(arm) == {"pc-done"}

    with up(state_dir, "--fresh") as fresh, AdminClient(fresh) as admin, sdk_env(fresh) as arm:
        assert admin.captures() == [] and admin.emails() == []
        with pytest.raises(ResourceNotFoundError):
            arm.compute.virtual_machines.get("rg-persist", "vm-added-at-run-time")
        fresh_blob = blob_url.replace(first.blob_endpoint, fresh.blob_endpoint)
        with pytest.raises(ResourceNotFoundError):
            arm.download(fresh_blob)


def test_reset_is_persisted_so_a_restart_does_not_bring_back_what_it_cleared(state_dir: Path, sdk_env):
    with up(state_dir) as first, AdminClient(first) as admin, sdk_env(first) as arm:
        vm_id = arm.vm_id("rg-persist", "vm-reset")
        admin.add_vm({"id": vm_id, "location": REGION})
        arm.create("pc-reset", vm_id, region=REGION, timeLimitInSeconds=1)
        arm.wait_stopped("pc-reset", region=REGION)
        send_email(first, "cleared by reset")
        admin.reset()
    with up(state_dir) as second, AdminClient(second) as admin, sdk_env(second) as arm:
        assert admin.captures() == [] and admin.emails() == []
        with pytest.raises(ResourceNotFoundError):
            arm.compute.virtual_machines.get("rg-persist", "vm-reset")
        assert list((state_dir / "outbox").glob("*")) == []


def run_up(state_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "devstack", "up", "--state-dir", str(state_dir), "--no-host",
               "--config", str(state_dir / "devstack.toml"), *extra]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


DAMAGED = {
    "arm/state.json": "{not json",
    "outbox/1b0c4d52-5a2e-4bfb-9b5a-1f2e3d4c5b6a.json": json.dumps({"id": 3}),
    "azurite/__azurite_db_blob__.json": '{"filename": "x"}',
    "ports.json": json.dumps({"arm": "not a port"}),
}


@pytest.mark.parametrize("relative", sorted(DAMAGED))
def test_a_damaged_persisted_file_stops_up_with_exit_2_naming_it_and_fresh(state_dir: Path, relative: str):
    path = state_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DAMAGED[relative])
    result = run_up(state_dir)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr and "--fresh" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (state_dir / "state.json").exists()


def test_arm_state_of_the_wrong_shape_is_refused_like_a_damaged_file(state_dir: Path) -> None:
    path = state_dir / "arm" / "state.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"format": 1, "data": {"machines": {"x": {"name": 7}}}}))
    result = run_up(state_dir)
    assert result.returncode == 2 and str(path) in result.stderr and "Traceback" not in result.stderr
    assert "required field missing @ data.machines['x'].id" in result.stderr  # says what did not fit


def test_fresh_repairs_a_damaged_state_dir(state_dir: Path) -> None:
    (state_dir / "arm").mkdir()
    (state_dir / "arm" / "state.json").write_text("garbage")
    with up(state_dir, "--fresh") as state, AdminClient(state) as admin:
        assert admin.captures() == []
    saved = json.loads((state_dir / "arm" / "state.json").read_text())
    assert saved["format"] == 1 and saved["data"]["captures"] == {}


def test_fresh_refuses_to_touch_a_running_devstack(state_dir: Path) -> None:
    with up(state_dir) as state, AdminClient(state) as admin:
        vm_id = f"/subscriptions/{state.subscription_id}/resourceGroups/rg-p/providers/Microsoft.Compute/" \
                f"virtualMachines/vm-{uuid.uuid4().hex[:6]}"
        admin.add_vm({"id": vm_id, "location": REGION})
        wait_until(lambda: vm_id.lower() in saved_machines(state_dir), 5, message="the added VM saved")
        result = run_up(state_dir, "--fresh")
        assert result.returncode == 1 and "already uses" in result.stderr
        assert vm_id.lower() in saved_machines(state_dir)


def saved_machines(state_dir: Path) -> set[str]:
    """Ids of the machines in the persisted ARM state (lower case)."""
    path = state_dir / "arm" / "state.json"
    if not path.exists():
        return set()
    return {m["id"].lower() for m in json.loads(path.read_text())["data"]["machines"].values()}
