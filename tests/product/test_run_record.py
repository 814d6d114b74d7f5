"""The run record and its typed capture-file list."""

from __future__ import annotations

import pytest

from core.capture_files import CaptureFile, instance_of, is_folder
from core.records import RunRecord

SUB = "00000000-0000-0000-0000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"


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
