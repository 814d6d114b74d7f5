"""Pure product logic: settings, ids and names, the status-check schedule, email escaping, watcher choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.capture_files import CaptureFile, instance_of, is_folder
from core.email import render
from core.errors import ConfigurationError
from core.naming import capture_created_before, capture_name, instance_id, is_stale, window_start
from core.records import FAILED, SUCCEEDED, RunRecord
from core.regions import pick_watcher
from core.schedule import email_retry_delays, status_check_offsets
from core.settings import Settings

SUB = "00000000-0000-0000-0000-000000000001"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/caps"
VM = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"
REQUIRED = {"ACS_ENDPOINT": "https://acs.example", "EMAIL_SENDER": "noreply@example.com",
            "EMAIL_RECIPIENTS": "a@example.com; b@example.com,c@example.com",
            "CAPTURE_STORAGE_ACCOUNT_ID": STORAGE}


def test_settings_defaults_are_safe() -> None:
    s = Settings.from_mapping(REQUIRED)
    assert s.arm_endpoint == "https://management.azure.com" and s.arm_audience == "https://management.azure.com"
    assert s.email_recipients == ("a@example.com", "b@example.com", "c@example.com")
    assert s.alert_cooldown_seconds == 900 and s.agent_auto_install is False and s.allowed_scopes == ()
    assert s.capture_time_limit_seconds <= 18000 and s.capture_total_bytes == 1073741824


def test_settings_parse_every_knob() -> None:
    env = dict(REQUIRED, ARM_ENDPOINT="https://127.0.0.1:8443/", CAPTURE_TIME_LIMIT_SECONDS="30",
               CAPTURE_FILTERS='[{"protocol": "TCP", "localPort": 80}]', AGENT_AUTO_INSTALL="true",
               ALLOWED_SCOPES=f"/subscriptions/{SUB}/resourceGroups/App-RG",
               ARM_POLLING_INTERVAL_SECONDS="0.2")
    s = Settings.from_mapping(env)
    assert s.arm_endpoint == "https://127.0.0.1:8443" and s.capture_time_limit_seconds == 30
    assert s.capture_filters == ({"protocol": "TCP", "localPort": "80"},)
    assert s.agent_auto_install is True and s.allowed_scopes == ((SUB, "app-rg"),)
    assert s.capture_config()["filters"] == [{"protocol": "TCP", "localPort": "80"}]


@pytest.mark.parametrize(("name", "value"), [
    ("ACS_ENDPOINT", ""), ("EMAIL_RECIPIENTS", "not-an-address"), ("CAPTURE_STORAGE_ACCOUNT_ID", VM),
    ("CAPTURE_TIME_LIMIT_SECONDS", "18001"), ("CAPTURE_TIME_LIMIT_SECONDS", "five"),
    ("CAPTURE_FILTERS", '{"protocol": "TCP"}'), ("CAPTURE_FILTERS", '[{"protocol": "ICMP"}]'),
    ("ARM_ENDPOINT", "http://management.azure.com"), ("AGENT_AUTO_INSTALL", "maybe"),
    ("CLEANUP_RETENTION_SECONDS", "0"), ("CLEANUP_RETENTION_SECONDS", "3899"),  # default run: 3900 s
    ("ALLOWED_SCOPES", "/subscriptions/x"),
])
def test_bad_settings_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_mapping(dict(REQUIRED, **{name: value}))
    assert info.value.setting == name


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


def test_email_retry_delays_back_off_and_fit_the_window() -> None:
    hour = email_retry_delays(3600)
    assert hour[:4] == [30, 60, 120, 240] and max(hour) == 300 and sum(hour) <= 3600 and len(hour) <= 20
    minute = email_retry_delays(60)
    assert minute[0] == 1 and sum(minute) <= 60 and minute == sorted(minute)
    assert email_retry_delays(0) == []


@pytest.mark.parametrize(("limit", "grace"), [(10, 30), (300, 300), (3600, 300), (18000, 300), (18000, 3600)])
def test_status_checks_start_near_the_end_and_stay_few(limit: int, grace: int) -> None:
    offsets = status_check_offsets(limit, grace)
    assert offsets[0] >= limit and offsets[0] <= limit + 10
    assert offsets == sorted(set(offsets)) and offsets[-1] == limit + grace
    assert len(offsets) <= 20


def test_five_hour_capture_needs_at_most_20_checks() -> None:
    assert len(status_check_offsets(18000, 300)) <= 20


def test_email_escapes_everything_from_the_alert() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=SUCCEEDED,
                       alert={"rule": "<script>alert(1)</script>", "severity": "Sev1\r\nBcc: evil@x",
                              "fired_at": "2026", "alert_id": "a\"b"},
                       capture_name="alertcap-x-1", size_bytes=10,
                       storage_path="https://caps.blob.core.windows.net/c/x.cap")
    mail = render(record, "https://caps.blob.core.windows.net/c/x.cap?sig=a&se=b")
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "a&quot;b" in mail.html
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "href=\"https://caps.blob.core.windows.net/c/x.cap?sig=a&amp;se=b\"" in mail.html
    assert "Download link: https://caps.blob.core.windows.net/c/x.cap?sig=a&se=b" in mail.plain_text
    assert mail.subject.startswith("[alertcap] Packet capture ready: web-1")


def test_plain_text_values_cannot_forge_lines_and_extra_alerts_are_counted_in_full() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=SUCCEEDED,
                       alert={"rule": "r\nDownload link: https://evil.example/x.cap", "severity": "Sev1"},
                       extra_alerts=[{"alert_id": str(i)} for i in range(20)], extra_alert_count=50)
    mail = render(record, "https://caps.blob.core.windows.net/c/x.cap?sig=a")
    links = [line for line in mail.plain_text.splitlines() if line.startswith("Download link:")]
    assert links == ["Download link: https://caps.blob.core.windows.net/c/x.cap?sig=a"]
    assert "Alert rule: r Download link: https://evil.example/x.cap" in mail.plain_text
    assert "Extra alerts recorded: 50" in mail.plain_text and ">50<" in mail.html


def test_failure_email_states_the_reason() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=FAILED,
                       reason="the capture ended in Error: StorageFailed", alert={"rule": "r"})
    mail = render(record, None)
    assert "FAILED" in mail.subject and "StorageFailed" in mail.plain_text and "StorageFailed" in mail.html
    assert "Download link" not in mail.plain_text


def test_watcher_is_matched_by_location_not_by_name() -> None:
    watchers = [{"id": "/w/NetworkWatcher_westeurope", "location": "eastus"},
                {"id": "/w/custom-name", "location": "West Europe"}]
    assert pick_watcher(watchers, "westeurope")["id"] == "/w/custom-name"
    assert pick_watcher(watchers, "northeurope") is None


def test_email_shows_the_vm_readable_times_duration_and_size() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=SUCCEEDED,
                       alert={"rule": "r", "fired_at": "2026-11-25T23:17:29.796215+01:00"},
                       size_bytes=149552,
                       timings={"capture_created": "2026-11-25T23:17:29.993089+00:00",
                                "capture_finished": "2026-11-25T23:19:05.008091+00:00"})
    text = render(record, None).plain_text
    assert "VM: web-1" in text
    assert "Alert fired: 2026-11-25 22:17:29 UTC" in text  # converted to UTC, no microseconds
    assert "Capture started: 2026-11-25 23:17:29 UTC" in text
    assert "Duration: 1 min 35 s" in text
    assert "Size: 146.0 KiB (149,552 bytes)" in text


def test_email_keeps_values_it_cannot_parse_and_small_sizes_in_bytes() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=SUCCEEDED,
                       alert={"rule": "r", "fired_at": "not a time <b>"}, size_bytes=24,
                       timings={"capture_created": "garbage"})
    mail = render(record, None)
    assert "Alert fired: not a time <b>" in mail.plain_text and "not a time &lt;b&gt;" in mail.html
    assert "Size: 24 bytes" in mail.plain_text and "Duration" not in mail.plain_text


def test_scale_set_email_lists_each_instance_file_with_its_size_and_own_link() -> None:
    folder = "https://caps.blob.core.windows.net/network-watcher-logs/vmss/packetcapture_10_00_00_000"
    files = [CaptureFile(f"{folder}/vmss-web_0.cap", 2048, "vmss-web_0"),
             CaptureFile(f"{folder}/vmss-web_3.cap", 24, "vmss-<b>3")]
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVMSS", status=SUCCEEDED,
                       alert={"rule": "r"}, storage_path=folder, size_bytes=2072, files=files)
    mail = render(record, None, {files[0].url: f"{files[0].url}?sig=a&se=b"})
    text = mail.plain_text
    assert f"Folder: {folder}" in text and "Size: 2.0 KiB (2,072 bytes) in 2 files" in text
    assert f"Instance vmss-web_0: {folder}/vmss-web_0.cap (2.0 KiB (2,048 bytes))" in text
    assert f"Instance vmss-web_0 download link: {folder}/vmss-web_0.cap?sig=a&se=b" in text
    assert f"Instance vmss-<b>3: {folder}/vmss-web_3.cap (24 bytes)" in text
    assert "Instance vmss-<b>3 download link" not in text  # no link could be made for it
    assert "vmss-&lt;b&gt;3" in mail.html and "<b>3" not in mail.html
    assert mail.html.count("Download the capture (.cap)") == 1


def test_run_record_round_trips_its_typed_file_list() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVMSS", alert={},
                       files=[CaptureFile("https://a/b/x.cap", 10, "vmss_1")])
    data = record.to_dict()
    assert data["files"] == [{"url": "https://a/b/x.cap", "size_bytes": 10, "instance": "vmss_1"}]
    assert RunRecord.from_dict(data) == record
    assert RunRecord.from_dict({k: v for k, v in data.items() if k != "files"}).files == []
    with pytest.raises(ValueError):
        CaptureFile.from_dict({"url": "https://a/x.cap", "size_bytes": -1})


def test_capture_file_helpers_tell_a_folder_from_a_blob() -> None:
    assert is_folder("https://a/c/vmss/packetcapture_1", "AzureVMSS")
    assert not is_folder("https://a/c/vmss/packetcapture_1.cap", "AzureVMSS")
    assert not is_folder("https://a/c/vm/packetcapture_1", "AzureVM")
    assert instance_of("https://a/c/f/vmss-web_3.cap", "https://a/c/f/") == "vmss-web_3"
