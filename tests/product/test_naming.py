"""Run ids and capture names: what they depend on, and the window they carry for cleanup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from core.naming import capture_created_before, capture_name, instance_id, is_stale, window_start

SUB = "00000000-0000-0000-0000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"


def test_instance_id_depends_on_target_and_fired_window_not_case_or_arrival() -> None:
    fired = datetime(2026, 11, 25, 22, 3, 0, tzinfo=UTC)
    same_window = fired + timedelta(minutes=10)
    next_window = fired + timedelta(minutes=13)
    base = instance_id(VM, fired, 900)
    assert base.startswith("alertcap-") and len(base) == len("alertcap-") + 24
    assert instance_id(VM.lower(), same_window, 900) == base
    assert instance_id(VM, next_window, 900) != base
    assert instance_id(VM.replace("web-1", "web-2"), fired, 900) != base
    assert window_start(fired, 900) == datetime(2026, 11, 25, 22, 0, tzinfo=UTC)


def test_capture_names_carry_their_window_for_cleanup() -> None:
    window = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
    name = capture_name(VM, window)
    assert name.startswith("alertcap-") and capture_created_before(name) == window
    assert capture_created_before("PSAzureFunction") is None
    assert capture_created_before("alertcap-manual") is None
    assert is_stale(name, window + timedelta(days=2), 86400)
    assert not is_stale(name, window + timedelta(hours=2), 86400)
    assert not is_stale("someone-elses-capture", window + timedelta(days=30), 86400)


def test_capture_names_derive_from_the_target_and_window_not_the_instance() -> None:
    window = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
    name = capture_name(VM, window)
    assert capture_name(VM.upper(), window.astimezone(timezone(timedelta(hours=2)))) == name
    assert capture_name(VM.replace("web-1", "web-2"), window) != name
    assert capture_name(VM, window + timedelta(minutes=15)) != name
    assert len(name) <= 80  # Network Watcher's limit for a capture name
