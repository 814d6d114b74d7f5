"""Triage straight from storage on the devstack: the activity (managed identity, ranged reads) and
`alertcap pcap summary` on a file and on a blob URL with a user-delegation SAS."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import triage_pcaps as gen
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient
from typer.testing import CliRunner

from activities import clients
from activities.storage import blob_client, read_link
from activities.triage import blob_chunks, triage_capture
from alertcap_cli.main import app
from core.triage import summarize_file
from core.triage_model import TriageRequest, TriageResult
from devstack.testing import DevstackState

runner = CliRunner()


@pytest.fixture
def storage(azure_env: DevstackState) -> Iterator[DevstackState]:
    """The devstack's storage with fresh SDK clients (the managed identity of the tests' environment)."""
    clients.reset()
    yield azure_env
    clients.reset()


def capture_file(tmp_path: Path) -> Path:
    syn = gen.dpkt.tcp.TH_SYN
    packets = [gen.tcp("203.0.113.7", "10.0.0.5", 20000 + i, 443, flags=syn) for i in range(60)]
    packets += [gen.udp("10.0.0.3", "10.0.0.53", 5353, 53) for _ in range(10)]
    frames = [(1_700_000_000 + i * 0.01, gen.ethernet(p)) for i, p in enumerate(packets)]
    return gen.write_pcap(tmp_path / "capture.cap", frames)


def upload(state: DevstackState, data: bytes, name: str = "dir/capture.cap") -> str:
    service = BlobServiceClient(state.blob_endpoint, credential=DefaultAzureCredential())
    container = f"t{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    blob = service.get_blob_client(container, name)
    blob.upload_blob(data)
    return blob.url


def test_activity_streams_the_blob_and_matches_the_local_summary(storage: DevstackState,
                                                                  tmp_path: Path) -> None:
    path = capture_file(tmp_path)
    url = upload(storage, path.read_bytes())
    outcome = triage_capture(TriageRequest([url], 60))
    assert outcome.ok, outcome
    result = TriageResult.from_dict(outcome.value)
    (summary,) = result.files
    local = summarize_file(path)
    assert summary.to_dict() == {**local.to_dict(), "source": "capture.cap"}
    assert result.merged is None and "10.0.0.5:443" in summary.verdict


def test_blob_is_read_in_ranged_chunks(storage: DevstackState, tmp_path: Path) -> None:
    data = capture_file(tmp_path).read_bytes()
    url = upload(storage, data)
    chunks = list(blob_chunks(blob_client(url), len(data), chunk_bytes=1000))
    assert b"".join(chunks) == data and {len(c) for c in chunks[:-1]} == {1000}


def test_several_files_give_per_file_summaries_and_a_merged_view(storage: DevstackState,
                                                                  tmp_path: Path) -> None:
    data = capture_file(tmp_path).read_bytes()
    urls = [upload(storage, data, f"vmss/{i}.cap") for i in range(2)]
    missing = urls[0].rsplit("/", 1)[0] + "/gone.cap"
    result = TriageResult.from_dict(triage_capture(TriageRequest([*urls, missing], 60)).value)
    assert [f.source for f in result.files] == ["0.cap", "1.cap", "gone.cap"]
    assert result.merged.packets == 2 * result.files[0].packets
    assert result.files[2].warnings == ["the capture file does not exist (deleted?)"]
    assert any(w.startswith("gone.cap: ") for w in result.merged.warnings)


def test_pcap_summary_reads_a_local_file_as_json_and_as_tables(tmp_path: Path) -> None:
    path = capture_file(tmp_path)
    as_json = runner.invoke(app, ["pcap", "summary", str(path), "-o", "json"])
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout) == summarize_file(path).to_dict()
    table = runner.invoke(app, ["pcap", "summary", str(path)])
    assert table.exit_code == 0 and "Top destination ports" in table.stdout and "10.0.0.5:443" in table.stdout


def test_pcap_summary_errors_are_one_line_and_a_usage_exit(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["pcap", "summary", str(tmp_path / "nope.cap")])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: ")
    assert "no such file" in missing.stderr
    clear = runner.invoke(app, ["pcap", "summary", "http://example.invalid/x.cap?sig=secret"])
    assert clear.exit_code == 2 and "secret" not in clear.stderr
    garbage = tmp_path / "garbage.cap"
    garbage.write_bytes(b"not a capture at all" * 10)
    result = runner.invoke(app, ["pcap", "summary", str(garbage), "-o", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["warnings"][0].startswith("not a pcap")


def test_pcap_summary_streams_a_blob_url_with_a_sas(storage: DevstackState, tmp_path: Path) -> None:
    path = capture_file(tmp_path)
    url = upload(storage, path.read_bytes())
    link = read_link(url, 1)
    result = runner.invoke(app, ["pcap", "summary", link, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == summarize_file(path).to_dict()
    forged = runner.invoke(app, ["pcap", "summary", link.replace("sp=r", "sp=rw")])
    assert forged.exit_code == 1 and "HTTP 403" in forged.stderr and "sig=" not in forged.stderr
