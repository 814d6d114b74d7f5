"""The typed orchestration contract: payload dataclasses keep the JSON shape the orchestrator's history holds,
decode what older activity results look like, and name the field when a payload does not fit."""

from __future__ import annotations

from typing import Any

import pytest

from core.capture_contract import (
    CaptureCreateRequest,
    CaptureRef,
    CaptureState,
    CreatedCapture,
    RegionRequest,
    RegionState,
    StopResult,
)
from core.compute_contract import (
    AgentCheckRequest,
    AgentInstalled,
    AgentInstallRequest,
    AgentState,
    LocatedTarget,
    LocateRequest,
)
from core.contract import Payload, PayloadError
from core.email_contract import EmailRequest, EmailSent
from core.outcome import Outcome
from core.records import RunRecord
from core.targets import Target
from core.watchers import CreatedWatcher, WatcherInfo, WatcherList, WatcherListRequest

SUB = "00000000-0000-0000-0000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1"
VMSS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/set"
WATCHER = f"/subscriptions/{SUB}/resourceGroups/nwrg/providers/Microsoft.Network/networkWatchers/nw"
CONFIG = {"time_limit_seconds": 60, "filters": [{"protocol": "TCP"}]}

# The activity inputs as the orchestrator wrote them before the dataclasses (histories still hold these).
INPUTS_BEFORE: list[tuple[Payload, dict[str, Any]]] = [
    (LocateRequest(VM, "AzureVM"), {"target_id": VM, "target_type": "AzureVM"}),
    (WatcherListRequest(SUB), {"subscription_id": SUB}),
    (RegionRequest(WATCHER, "2026-11-25T22:00:00+00:00", 86400),
     {"watcher_id": WATCHER, "now": "2026-11-25T22:00:00+00:00", "retention_seconds": 86400}),
    (AgentCheckRequest(VMSS, "AzureVMSS", ("0", "3")),
     {"target_id": VMSS, "target_type": "AzureVMSS", "scope_include": ["0", "3"]}),
    (AgentInstallRequest(VM, "AzureVM", "westeurope", "linux"),
     {"target_id": VM, "target_type": "AzureVM", "location": "westeurope", "os_type": "linux",
      "scope_include": []}),
    (CaptureCreateRequest(WATCHER, "alertcap-x", Target(VMSS, "AzureVMSS", ("1",)), CONFIG),
     {"watcher_id": WATCHER, "name": "alertcap-x", "config": CONFIG,
      "target": {"id": VMSS, "target_type": "AzureVMSS", "scope_include": ["1"]}}),
    (CaptureRef(f"{WATCHER}/packetCaptures/pc"), {"capture_id": f"{WATCHER}/packetCaptures/pc"}),
]


@pytest.mark.parametrize(("payload", "before"), INPUTS_BEFORE, ids=lambda p: type(p).__name__)
def test_inputs_keep_the_json_shape_of_the_dict_literals_and_decode_back(payload: Payload,
                                                                         before: dict[str, Any]) -> None:
    assert payload.to_dict() == before
    assert type(payload).from_dict(before) == payload


def test_email_request_carries_the_run_record_as_its_dict() -> None:
    record = RunRecord(instance_id="alertcap-1", target=VM, target_type="AzureVM", alert={"rule": "r"})
    wire = EmailRequest(record, "op-1").to_dict()
    assert wire == {"record": record.to_dict(), "operation_id": "op-1"}
    assert EmailRequest.from_dict(wire).record == record


# Activity results as the activities returned them before the dataclasses (a replay reads them again).
RESULTS_BEFORE: list[tuple[type[Payload], dict[str, Any], Payload]] = [
    (LocatedTarget, {"location": "eastus", "os_type": "linux", "power_state": "running", "name": "set"},
     LocatedTarget("eastus", "linux", "running", "set")),
    (AgentState, {"installed": True, "name": "ext", "provisioning_state": "Succeeded"},
     AgentState(True, "ext", "Succeeded")),
    (AgentState, {"installed": False, "name": "", "provisioning_state": "", "outdated": ["0", "2"]},
     AgentState(False, outdated=("0", "2"))),
    (AgentInstalled,
     {"name": "ext", "provisioning_state": "Succeeded", "upgraded": ["1"], "upgrade_mode": "Manual"},
     AgentInstalled("ext", "Succeeded", ("1",), "Manual")),
    (WatcherList, {"watchers": [{"id": WATCHER, "name": "nw", "location": "westeurope"}]},
     WatcherList((WatcherInfo(WATCHER, "nw", "westeurope"),))),
    (RegionState, {"session_count": 2, "deleted": ["alertcap-old"]}, RegionState(2, ("alertcap-old",))),
    (CreatedCapture, {"id": "pc-id", "name": "pc", "provisioning_state": "Succeeded", "storage_path": "",
                      "existed": False}, CreatedCapture("pc-id", "pc", "Succeeded")),
    (CaptureState, {"status": "Stopped", "stop_reason": "TimeExceeded", "errors": [], "start_time": ""},
     CaptureState("Stopped", "TimeExceeded")),
    (StopResult, {"stopped": True}, StopResult(True)),
    (EmailSent, {"message_id": "m-1", "status": "Succeeded"}, EmailSent("m-1", "Succeeded")),
]


@pytest.mark.parametrize(("kind", "before", "decoded"), RESULTS_BEFORE,
                         ids=lambda p: getattr(p, "__name__", ""))
def test_results_decode_from_what_the_activities_returned_and_travel_in_an_outcome(
        kind: type[Payload], before: dict[str, Any], decoded: Payload) -> None:
    assert kind.from_dict(before) == decoded
    outcome = Outcome.from_dict(Outcome.of(decoded).to_dict())
    assert outcome.ok and kind.from_dict(outcome.value) == decoded


def test_a_created_watcher_is_the_watcher_a_listing_would_show() -> None:
    created = CreatedWatcher(WATCHER, "nw", "westeurope", created_group=True, created_watcher=True)
    assert created.watcher == WatcherInfo(WATCHER, "nw", "westeurope")
    listed_shape = {"id": WATCHER, "name": "nw", "location": "westeurope"}
    assert CreatedWatcher.from_dict(listed_shape).created_watcher is False


@pytest.mark.parametrize(("kind", "data", "named"), [
    (RegionRequest, {"watcher_id": WATCHER, "now": "t"}, "RegionRequest.retention_seconds: missing"),
    (RegionRequest, {"watcher_id": WATCHER, "now": "t", "retention_seconds": "60"},
     "retention_seconds: expected int"),
    (StopResult, {"stopped": 1}, "StopResult.stopped: expected bool"),
    (RegionState, {"session_count": True}, "session_count: expected int"),
    (CaptureState, {"status": "Stopped", "errors": "oops"}, "CaptureState.errors: expected a list"),
    (WatcherList, {"watchers": [{"id": WATCHER, "name": "nw"}]}, "WatcherInfo.location: missing"),
    (LocateRequest, ["not", "an", "object"], "LocateRequest: expected an object"),
])
def test_a_payload_that_does_not_fit_names_the_field(kind: type[Payload], data: Any, named: str) -> None:
    with pytest.raises(PayloadError, match=named.replace(".", r"\.").replace("[", r"\[")):
        kind.from_dict(data)
