"""Pure sentry and harvest logic: ring sizing, ids, payload round trips, choosing files by their time span."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.capture_files import instance_of
from core.errors import InvalidRequest
from core.harvest import (
    HarvestRequest,
    HarvestResult,
    IncidentFile,
    RingFileInfo,
    first_packet_time,
    incident_blob_name,
    same_instance,
    select_files,
)
from core.sentry import (
    MAX_FILE_BYTES,
    ArmRequest,
    RingPlan,
    RingSession,
    RingSizing,
    SentryState,
    SentryView,
    ring_capture_name,
    ring_name_prefix,
    sentry_instance_id,
)
from core.targets import AZURE_VM, AZURE_VMSS, Target

VM = ("/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg/providers/"
      "Microsoft.Compute/virtualMachines/vm-a")
VMSS = VM.replace("virtualMachines/vm-a", "virtualMachineScaleSets/web")
T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def test_ids_are_deterministic_and_case_insensitive():
    assert sentry_instance_id(VM) == sentry_instance_id(VM.upper())
    assert sentry_instance_id(VM) != sentry_instance_id(VM + "x")
    assert ring_capture_name(VM, 3) == ring_name_prefix(VM) + "3"
    assert len(ring_capture_name(VM, 10**6)) <= 80


@pytest.mark.parametrize(("lookback", "budget"), [(900, 2 * 1024**3), (60, 64 * 1024), (10, 10**6),
                                                    (900, 8 * 1024),
                                                    (7 * 86400, 10**9), (3600, 40 * 1024**3)])
def test_ring_sizing_stays_within_budget_and_the_api_limits(lookback, budget):
    sizing = RingSizing.plan(lookback, budget, 86400)
    assert 2 <= sizing.file_count <= 10000
    assert 0 < sizing.file_size_bytes <= min(MAX_FILE_BYTES, 4294967295)
    assert sizing.file_count * sizing.file_size_bytes <= budget


def test_fifteen_minute_lookback_gives_a_file_per_minute():
    sizing = RingSizing.plan(900, 2 * 1024**3, 86400)
    assert sizing.file_count == 16 and sizing.file_size_bytes == 2 * 1024**3 // 16
    assert sizing.capture_settings() == {"fileCount": 16, "fileSizeInBytes": 2 * 1024**3 // 16,
                                         "sessionTimeLimitInSeconds": 86400}


def test_arm_request_validates_each_field():
    target = {"id": VM, "target_type": AZURE_VM}
    request = ArmRequest.from_dict({"target": target, "lookback_seconds": 120})
    assert request.lookback_seconds == 120 and request.budget_bytes == 2 * 1024**3
    assert ArmRequest.from_dict(request.to_dict()) == request
    for bad, field in [({"lookback_seconds": 1}, "lookback_seconds"),
                       ({"budget_bytes": "2GiB"}, "budget_bytes"),
                       ({"session_seconds": 604801}, "session_seconds"),
                       ({"after_seconds": -1}, "after_seconds")]:
        with pytest.raises(InvalidRequest) as caught:
            ArmRequest.from_dict({"target": target, **bad})
        assert caught.value.field == field
    vmss = {"id": VMSS, "target_type": "AzureVMSS"}
    assert ArmRequest.from_dict({"target": vmss}).target == Target(VMSS, AZURE_VMSS)
    with pytest.raises(InvalidRequest, match="armed whole") as caught:
        ArmRequest.from_dict({"target": {**vmss, "scope_include": ["3"]}})
    assert caught.value.field == "target.scope_include"


def test_state_keeps_recent_sessions_and_knows_the_current_one():
    state = SentryState(ArmRequest(Target(VM, AZURE_VM)), {"storage_account_id": "x"})
    assert state.current is None
    for generation in range(1, 7):
        name = ring_capture_name(VM, generation)
        state = SentryState.from_dict(state.to_dict())
        state = state.with_session(RingSession(name, f"id/{name}", f"https://a/c/{name}", T0.isoformat()))
        state = replace(state, generation=generation, watcher_id="w")
    assert [s.name for s in state.sessions] == [ring_capture_name(VM, g) for g in range(3, 7)]
    # sessions too old to harvest are retired: the next prune deletes all their files (budget across renewals)
    assert state.retired == tuple(f"https://a/c/{ring_capture_name(VM, g)}" for g in (1, 2))
    assert state.with_gap(2.5).with_gap(1.0).max_gap_seconds == 2.5
    assert state.current is not None and state.current.name == ring_capture_name(VM, 6)
    view = SentryView.of(state, "armed")
    assert SentryView.from_dict(view.to_dict()) == view and view.storage_paths[-1].endswith("-6")
    plan = RingPlan("w", "n", state.request.target, state.request.sizing, "acct")
    assert RingPlan.from_dict(plan.to_dict()) == plan


def _pcap_head(when: datetime) -> bytes:
    seconds = int(when.timestamp())
    return (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
            + struct.pack("<IIII", seconds, when.microsecond, 60, 60))


def test_first_packet_time_reads_a_classic_pcap_head():
    when = T0 + timedelta(microseconds=250000)
    assert first_packet_time(_pcap_head(when)) == when
    assert first_packet_time(b"\x0a\x0d\x0d\x0a" + bytes(36)) is None  # pcapng: unknown, not wrong
    assert first_packet_time(b"") is None


def _file(n: int, first: int | None, last: int, instance: str = "") -> RingFileInfo:
    folder = f"{instance}/" if instance else ""
    return RingFileInfo(f"https://a/c/{folder}f{n}", 100, (T0 + timedelta(seconds=last)).isoformat(),
                        (T0 + timedelta(seconds=first)).isoformat() if first is not None else "", instance)


def test_files_are_chosen_by_time_span_not_by_name():
    files = [_file(3, 200, 299), _file(1, None, 99), _file(2, 100, 199), _file(4, 300, 399)]
    chosen = select_files(files, T0 + timedelta(seconds=150), T0 + timedelta(seconds=250))
    assert [s.file.url for s in chosen] == ["https://a/c/f2", "https://a/c/f3"]
    # the oldest file has no readable first packet: its start is unknown, so it counts for early windows
    early = select_files(files, T0 - timedelta(seconds=500), T0 + timedelta(seconds=5))
    assert [s.file.url for s in early] == ["https://a/c/f1"]
    # a file without a first packet starts where the previous one ended
    gapless = select_files([_file(1, 0, 99), _file(2, None, 199)], T0 + timedelta(seconds=120),
                           T0 + timedelta(seconds=130))
    assert [s.file.url for s in gapless] == ["https://a/c/f2"]
    assert gapless[0].start == T0 + timedelta(seconds=99)


def test_harvest_result_coverage():
    result = HarvestResult((IncidentFile("u1", "s1", 10, (T0 - timedelta(seconds=300)).isoformat(),
                                         T0.isoformat()),
                            IncidentFile("u2", "s2", 10, T0.isoformat(),
                                         (T0 + timedelta(seconds=40)).isoformat())))
    assert HarvestResult.from_dict(result.to_dict()) == result
    assert result.covered() == (T0 - timedelta(seconds=300), T0 + timedelta(seconds=40))
    assert HarvestResult().covered() == (None, None)
    # a later pass no longer sees the first file (the ring deleted it): the incident keeps its copy
    def ending(url: str, size: int, seconds: int) -> IncidentFile:
        return IncidentFile(url, "s", size, T0.isoformat(), (T0 + timedelta(seconds=seconds)).isoformat())

    later = HarvestResult((ending("u2", 12, 40), ending("u3", 10, 70)))
    merged = result.merged(later)
    assert [(f.url, f.size_bytes) for f in merged.files] == [("u1", 10), ("u2", 12), ("u3", 10)]


def test_a_scale_set_ring_file_belongs_to_the_instance_named_first_below_the_folder():
    folder = "https://a/c/x/packetcapture_06_00_00_000"
    assert instance_of(f"{folder}/web_3/00002.cap", folder) == "web_3"
    assert instance_of(f"{folder}/web_3.cap", folder) == "web_3"  # a one-shot capture's file
    assert same_instance("web_3", "web", ("3",)) and same_instance("web_3", "web", ("WEB_3",))
    assert not same_instance("web_31", "web", ("3",)) and not same_instance("web_1", "web", ("3", "0"))
    assert same_instance("web_1", "web", ())  # the whole set alerted
    assert same_instance("flex-a1b2", "web", ("flex-a1b2",))  # a flexible set's instance names


def test_an_unknown_start_comes_from_the_same_instances_previous_file():
    files = [_file(1, 0, 99, "web_0"), _file(2, 150, 199, "web_1"), _file(3, None, 299, "web_0")]
    chosen = select_files(files, T0 + timedelta(seconds=120), T0 + timedelta(seconds=130))
    assert [s.file.url for s in chosen] == ["https://a/c/web_0/f3"]
    assert chosen[0].start == T0 + timedelta(seconds=99)


def test_harvest_request_round_trip_and_incident_names():
    request = HarvestRequest("run-1", ("https://a/c/p",), T0.isoformat(), T0.isoformat(), "w",
                             "alertcap-ring-x-", "web", ("3",))
    assert HarvestRequest.from_dict(request.to_dict()) == request
    with pytest.raises(InvalidRequest) as caught:
        HarvestRequest.from_dict({**request.to_dict(), "instances": "3"})
    assert caught.value.field == "harvest.instances"
    old = HarvestRequest.from_dict({k: v for k, v in request.to_dict().items()
                                    if k in ("run_id", "storage_paths", "window_start", "window_end")})
    assert (old.watcher_id, old.scale_set, old.instances) == ("", "", ())
    source = RingFileInfo("https://a/c/p/web_3/00001.cap", 1, T0.isoformat(), instance="web_3")
    other = RingFileInfo("https://a/c/q/web_3/00001.cap", 1, T0.isoformat(), instance="web_3")
    name = incident_blob_name("run-1", source)
    assert name.startswith("run-1/web_3/") and name.endswith("-00001.cap")
    assert name == incident_blob_name("run-1", source) != incident_blob_name("run-1", other)
