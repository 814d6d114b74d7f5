"""The email of an armed VM's run: the evidence window and one link per incident file, escaped."""

from __future__ import annotations

from core.capture_files import CaptureFile
from core.email import render
from core.orchestration import RUN_SUCCEEDED
from core.records import RunRecord

VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-a"


def record(**extra) -> RunRecord:
    files = [CaptureFile(f"https://acct.blob.core.windows.net/incidents/run-1/f{i}.cap", 10) for i in (1, 2)]
    return RunRecord(instance_id="run-1", target=VM, target_type="AzureVM", status=RUN_SUCCEEDED,
                     alert={"rule": "<b>rule</b>", "fired_at": "2026-11-28T06:00:00+00:00"}, armed=True,
                     files=files, incident_before_seconds=312.4, incident_after_seconds=45.0,
                     **extra)


def test_incident_files_are_linked_and_the_window_is_stated():
    link = "https://acct/incidents/run-1/f1.cap?sig=a&x=<y>"
    content = render(record(), None, {"https://acct.blob.core.windows.net/incidents/run-1/f1.cap": link})
    evidence = "Evidence: 2 file(s) from the continuous capture, covering 5 min 12 s before and 45 s after"
    assert evidence in content.plain_text
    assert f"Incident file 1: {link}" in content.plain_text
    assert "Incident file 2 (blob): https://acct.blob.core.windows.net/incidents/run-1/f2.cap" \
        in content.plain_text
    assert "x=&lt;y&gt;" in content.html and "x=<y>" not in content.html
    assert content.html.count("Download (.cap)") == 1  # without a link: the blob URL, not a button
    assert "&lt;b&gt;rule&lt;/b&gt;" in content.html


def test_unarmed_runs_have_no_evidence_section():
    content = render(RunRecord(instance_id="r", target=VM, target_type="AzureVM", alert={}), None)
    assert "Evidence" not in content.plain_text and "Incident file" not in content.plain_text
