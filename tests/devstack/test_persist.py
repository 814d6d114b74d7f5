"""The persistence codec and state file (pure): dataclasses to JSON and back from their type hints,
runtime-only fields left out, atomic writes that skip unchanged state, strict reads; and how restored
in-flight work ends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from devstack.arm.asyncops import AsyncOperation
from devstack.arm.compute import Machine
from devstack.arm.network import NetworkWatcher, PacketCapture
from devstack.arm.state import ArmState
from devstack.arm.store import ArmStore
from devstack.arm.validation import CaptureParameters
from devstack.capture.agent import CaptureSession
from devstack.common.persist import PersistedStateError, codec

SUB = "00000000-0000-0000-0000-0000000000aa"
VM_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"


def capture(tmp_path: Path, name: str = "pc1") -> PacketCapture:
    watcher = NetworkWatcher(SUB, "westeurope")
    machine = Machine(id=VM_ID, name="vm1", subscription_id=SUB, resource_group="rg", location="westeurope")
    machine.install_agent()
    params = CaptureParameters(target=VM_ID, target_type="AzureVM", bpf="tcp port 80",
                               storage_location={"storagePath": "https://127.0.0.1:1/acct/c/b.cap"})
    return PacketCapture(id=f"{watcher.id}/packetCaptures/{name}", name=name, watcher=watcher, params=params,
                         machine=machine, file_path=tmp_path / f"{name}.cap", created=1.5)


def test_a_state_with_a_running_capture_round_trips_without_its_runtime_fields(tmp_path: Path) -> None:
    pc = capture(tmp_path)
    pc.session = CaptureSession(spec=pc.spec(), status="Running", start_time=10.0, bytes_written=99)
    pc.provisioning = asyncio.Future  # anything: a transient field is never looked at
    op = AsyncOperation(id="op1", subscription_id=SUB, provider="Microsoft.Network", location="westeurope",
                        background=True, on_done=print)
    state = ArmState(
        machines={VM_ID.lower(): pc.machine}, captures={pc.id.lower(): pc}, operations={"op1": op}
    )
    data = json.loads(json.dumps(codec.unstructure(state)))
    saved_capture = data["captures"][pc.id.lower()]
    assert "provisioning" not in saved_capture and "process" not in saved_capture["session"]
    assert "work" not in data["operations"]["op1"] and "on_done" not in data["operations"]["op1"]
    back = codec.structure(data, ArmState)
    restored = back.captures[pc.id.lower()]
    assert restored.session is not None and restored.session.status == "Running"
    assert restored.session.spec == pc.spec() and restored.file_path == pc.file_path
    assert restored.params == pc.params and restored.watcher == pc.watcher and restored.provisioning is None
    assert back.machines[VM_ID.lower()].agent_ready
    assert back.operations["op1"].start_time == op.start_time and back.operations["op1"].on_done is None


def test_the_state_file_is_written_only_when_the_state_changed(tmp_path: Path) -> None:
    store = ArmStore(tmp_path)
    state = ArmState()
    assert store.load() is None
    assert store.save(state) is True
    assert store.save(state) is False
    state.captures["x"] = capture(tmp_path)
    assert store.save(state) is True
    assert set(ArmStore(tmp_path).load().captures) == {"x"}
    assert [p.name for p in (tmp_path / "arm").iterdir()] == ["state.json"]  # no temp file left


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "not JSON"),
        ("[]", "expected an object with 'format' and 'data'"),
        ('{"format": 99, "data": {}}', "format 99"),
        ('{"format": 1, "data": {"captures": []}}', "expected a mapping @ data.captures"),
    ],
)
def test_a_damaged_state_file_names_itself_the_problem_and_fresh(tmp_path: Path, content: str, problem: str):
    path = tmp_path / "arm" / "state.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(PersistedStateError) as caught:
        ArmStore(tmp_path).load()
    message = str(caught.value)
    assert str(path) in message and problem in message and "up --fresh" in message


def test_interrupted_operations_end_canceled_unless_they_only_waited_for_polls() -> None:
    background = AsyncOperation(id="a", subscription_id=SUB, provider="Microsoft.Network", location="x",
                                background=True)
    polled = AsyncOperation(id="b", subscription_id=SUB, provider="Microsoft.Compute", location="x",
                            polls_left=3)
    done = AsyncOperation(id="c", subscription_id=SUB, provider="Microsoft.Network", location="x",
                          status="Succeeded")
    for op in (background, polled, done):
        op.interrupt()
    assert (background.status, polled.status, done.status) == ("Canceled", "Succeeded", "Succeeded")
    assert background.end_time is not None and polled.end_time is not None


def test_a_capture_interrupted_while_starting_or_running_shows_agent_stopped(tmp_path: Path) -> None:
    starting = capture(tmp_path, "starting")
    starting.agent_stopped()
    assert starting.provisioning_state == "Failed" and not starting.active
    assert starting.status_body()["packetCaptureStatus"] == "Error"
    assert starting.status_body()["packetCaptureError"] == ["AgentStopped"]
    running = capture(tmp_path, "running")
    running.file_path.write_bytes(b"x" * 40)
    running.provisioning_state = "Succeeded"
    running.session = CaptureSession(spec=running.spec(), status="Running", start_time=1.0)
    running.agent_stopped()
    body = running.status_body()
    assert (body["packetCaptureStatus"], body["stopReason"], body["packetCaptureError"]) == (
        "Error", "", ["AgentStopped"])
    assert running.provisioning_state == "Succeeded" and running.summary()["bytes"] == 40
    assert running.session.finished.is_set()
