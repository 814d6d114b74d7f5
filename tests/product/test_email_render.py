"""The operator email: everything from the alert escaped, failures explained, each file with size and link."""

from __future__ import annotations

from core.capture_files import CaptureFile
from core.email import render
from core.orchestration import RUN_FAILED, RUN_SUCCEEDED
from core.records import RunRecord

SUB = "00000000-0000-0000-0000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"


def test_email_escapes_everything_from_the_alert() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=RUN_SUCCEEDED,
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
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=RUN_SUCCEEDED,
                       alert={"rule": "r\nDownload link: https://evil.example/x.cap", "severity": "Sev1"},
                       extra_alerts=[{"alert_id": str(i)} for i in range(20)], extra_alert_count=50)
    mail = render(record, "https://caps.blob.core.windows.net/c/x.cap?sig=a")
    links = [line for line in mail.plain_text.splitlines() if line.startswith("Download link:")]
    assert links == ["Download link: https://caps.blob.core.windows.net/c/x.cap?sig=a"]
    assert "Alert rule: r Download link: https://evil.example/x.cap" in mail.plain_text
    assert "Extra alerts recorded: 50" in mail.plain_text and ">50<" in mail.html


def test_failure_email_states_the_reason() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=RUN_FAILED,
                       reason="the capture ended in Error: StorageFailed", alert={"rule": "r"})
    mail = render(record, None)
    assert "FAILED" in mail.subject and "StorageFailed" in mail.plain_text and "StorageFailed" in mail.html
    assert "Download link" not in mail.plain_text


def test_email_shows_the_vm_readable_times_duration_and_size() -> None:
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=RUN_SUCCEEDED,
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
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVM", status=RUN_SUCCEEDED,
                       alert={"rule": "r", "fired_at": "not a time <b>"}, size_bytes=24,
                       timings={"capture_created": "garbage"})
    mail = render(record, None)
    assert "Alert fired: not a time <b>" in mail.plain_text and "not a time &lt;b&gt;" in mail.html
    assert "Size: 24 bytes" in mail.plain_text and "Duration" not in mail.plain_text


def test_scale_set_email_lists_each_instance_file_with_its_size_and_own_link() -> None:
    folder = "https://caps.blob.core.windows.net/network-watcher-logs/vmss/packetcapture_10_00_00_000"
    files = [CaptureFile(f"{folder}/vmss-web_0.cap", 2048, "vmss-web_0"),
             CaptureFile(f"{folder}/vmss-web_3.cap", 24, "vmss-<b>3")]
    record = RunRecord(instance_id="alertcap-x", target=VM, target_type="AzureVMSS", status=RUN_SUCCEEDED,
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
