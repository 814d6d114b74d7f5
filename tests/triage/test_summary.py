"""The summary's figures on crafted captures: TCP health, verdicts, damaged files, budgets, caps, merging."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt
import pytest
import triage_pcaps as gen

import core.triage_tables as tables_module
from core.email import render
from core.orchestration import RUN_SUCCEEDED
from core.records import RunRecord
from core.triage import file_chunks, merge, summarize, summarize_file
from core.triage_model import TriageResult, TriageSummary

SYN, ACK, RST, PSH = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_RST, dpkt.tcp.TH_PUSH


def write(tmp_path: Path, packets: list[dpkt.Packet], name: str = "t.pcap") -> Path:
    frames = [(1_700_000_000 + i * 0.001, gen.ethernet(p)) for i, p in enumerate(packets)]
    return gen.write_pcap(tmp_path / name, frames)


def syn_flood(count: int = 90) -> list[dpkt.Packet]:
    packets = [gen.tcp("203.0.113.7", "10.0.0.5", 20000 + i, 443, flags=SYN, seq=i) for i in range(count)]
    packets += [gen.tcp("10.0.0.5", "203.0.113.7", 443, 20000 + i, flags=SYN | ACK) for i in range(5)]
    packets += [gen.tcp("10.0.0.8", "10.0.0.9", 50000, 22, payload=b"k" * 50, seq=i * 50) for i in range(5)]
    return packets


def test_syn_flood_verdict_names_share_sources_target_and_unanswered(tmp_path: Path) -> None:
    summary = summarize_file(write(tmp_path, syn_flood()))
    assert summary.tcp.syns == 90 and summary.tcp.syn_acks == 5 and summary.tcp.unanswered_syns == 85
    assert summary.verdict == ("90% of TCP segments were SYNs from 1 source to 10.0.0.5:443; "
                               "85 of them got no SYN-ACK")
    assert summary.top_ports[0].port == 443 and summary.top_ports[0].service == "https"
    top = summary.top_talkers_by_packets[:2]
    assert {t.address for t in top} == {"10.0.0.5", "203.0.113.7"} and {t.packets for t in top} == {95}


def test_resets_retransmissions_and_zero_windows_are_counted(tmp_path: Path) -> None:
    packets = [gen.tcp("10.0.0.1", "10.0.0.2", 40000, 80, flags=PSH | ACK, seq=1000 + 100 * i,
                       payload=b"d" * 100) for i in range(10)]
    packets += [gen.tcp("10.0.0.1", "10.0.0.2", 40000, 80, flags=PSH | ACK, seq=1300, payload=b"d" * 100),
                gen.tcp("10.0.0.1", "10.0.0.2", 40000, 80, flags=PSH | ACK, seq=1000, payload=b"d" * 100)]
    packets += [gen.tcp("10.0.0.2", "10.0.0.1", 80, 40000, window=0) for _ in range(3)]
    packets += [gen.tcp("10.0.0.2", "10.0.0.1", 80, 40001 + i, flags=RST | ACK, window=0) for i in range(4)]
    summary = summarize_file(write(tmp_path, packets))
    assert summary.tcp.retransmissions == 2
    assert summary.tcp.zero_windows == 3  # a RST with window 0 is no zero-window advertisement
    assert summary.tcp.resets == 4 and summary.tcp.segments == 19


def test_retransmission_state_survives_chunk_boundaries(tmp_path: Path) -> None:
    packets = [gen.tcp("10.0.0.1", "10.0.0.2", 40000, 80, seq=100 * i, payload=b"d" * 100) for i in range(50)]
    packets += [gen.tcp("10.0.0.1", "10.0.0.2", 40000, 80, seq=0, payload=b"d" * 100)]
    path = write(tmp_path, packets)
    assert summarize(file_chunks(path, 300))[0].tcp.retransmissions == 1


def test_one_conversation_carrying_most_bytes_is_the_verdict(tmp_path: Path) -> None:
    packets = [gen.tcp("10.0.0.1", "10.0.0.2", 40000, 5432, seq=1000 * i, payload=b"q" * 1000)
               for i in range(20)]
    packets += [gen.udp("10.0.0.3", "10.0.0.53", 5353, 53) for _ in range(3)]
    summary = summarize_file(write(tmp_path, packets))
    assert summary.verdict.endswith("of bytes were one TCP conversation: 10.0.0.1:40000 <-> 10.0.0.2:5432")
    assert summary.top_conversations_by_bytes[0].packets_ab == 20


def test_peak_rates_per_second(tmp_path: Path) -> None:
    packet = gen.udp("10.0.0.3", "10.0.0.4", 1000, 2000, payload=b"x" * 58)  # 100-byte frames
    frames = [(1000.1 + i * 0.01, gen.ethernet(packet)) for i in range(30)] + [(1005.5, gen.ethernet(packet))]
    summary = summarize_file(gen.write_pcap(tmp_path / "rate.pcap", frames))
    assert summary.peak_packets_per_second == 30 and summary.peak_bits_per_second == 30 * 100 * 8
    assert summary.duration_seconds == pytest.approx(5.4)


@pytest.mark.parametrize(("content", "warning"), [
    (b"", "the capture file is empty"),
    (b"\x00" * 10, "file too short to be a capture"),
    (b"GET / HTTP/1.1\r\nHost: example\r\n\r\n" * 50, "not a pcap or pcapng file"),
])
def test_garbage_and_empty_files_give_a_warning_not_an_exception(tmp_path: Path, content: bytes,
                                                                 warning: str) -> None:
    path = tmp_path / "bad.cap"
    path.write_bytes(content)
    summary = summarize_file(path)
    assert summary.packets == 0 and not summary.complete
    assert any(warning in w for w in summary.warnings), summary.warnings
    assert summary.verdict == "no packets were captured"


def test_truncated_file_summarises_what_was_read(tmp_path: Path) -> None:
    path = write(tmp_path, syn_flood())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    summary = summarize_file(path)
    assert summary.packets == 99 and any("cut short" in w for w in summary.warnings)


def test_damaged_record_length_stops_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, syn_flood())
    data = bytearray(path.read_bytes())
    second = 24 + 16 + struct.unpack_from("<I", data, 24 + 8)[0]
    struct.pack_into("<I", data, second + 8, 0x7FFFFFF0)
    path.write_bytes(bytes(data))
    summary = summarize_file(path)
    assert summary.packets == 1 and not summary.complete
    assert any(f"damaged record at byte {second}" in w for w in summary.warnings)


def test_damaged_pcapng_block_stops_with_a_warning(tmp_path: Path) -> None:
    frames = [(1_700_000_000 + i, gen.ethernet(p)) for i, p in enumerate(syn_flood())]
    path = gen.write_pcapng(tmp_path / "x.pcapng", frames)
    data = path.read_bytes()
    path.write_bytes(data[:200] + b"\xff" * 40 + data[240:])
    summary = summarize_file(path)
    assert 0 < summary.packets < 100 and summary.warnings


def test_byte_and_time_budgets_summarise_a_prefix_and_say_so(tmp_path: Path) -> None:
    path = write(tmp_path, syn_flood())
    size = path.stat().st_size
    partial, _ = summarize(file_chunks(path, 1000), size_bytes=size, max_bytes=2000)
    assert 0 < partial.packets < 100 and not partial.complete
    assert any("byte budget" in w for w in partial.warnings) and any(f"of {size:,} bytes" in w
                                                                    for w in partial.warnings)
    late, _ = summarize(file_chunks(path, 1000), size_bytes=size, deadline=0.0)
    assert 0 < late.packets < 100 and any("time budget" in w for w in late.warnings)


def test_capped_tables_keep_the_heavy_hitters_and_warn(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tables_module, "CONVERSATION_CAP", 8)
    packets = [gen.tcp("10.0.0.1", "10.0.0.2", 40000, 443, seq=100 * i, payload=b"h" * 100)
               for i in range(30)]
    packets += [gen.udp("10.0.1.1", "10.0.1.2", 1000 + i, 53) for i in range(40)]
    summary, tables = summarize(file_chunks(write(tmp_path, packets), 500))
    assert len(tables.conversations) <= 8 and not summary.complete
    assert summary.top_conversations_by_bytes[0].packets == 30
    assert any("conversations table reached its cap" in w for w in summary.warnings)


def test_merged_view_adds_the_files_of_a_run(tmp_path: Path) -> None:
    one = write(tmp_path, syn_flood(), "one.pcap")
    two = write(tmp_path, [gen.udp("10.0.0.3", "10.0.0.53", 5353, 53) for _ in range(7)], "two.pcap")
    parts = [summarize(file_chunks(p), source=p.name) for p in (one, two)]
    merged = merge([s for s, _ in parts], [t for _, t in parts])
    assert merged.packets == parts[0][0].packets + 7 and merged.bytes == parts[0][0].bytes + parts[1][0].bytes
    assert merged.tcp.syns == 90 and "10.0.0.5:443" in merged.verdict
    assert {p.port for p in merged.top_ports} == {443, 22, 53}
    result = TriageResult([s for s, _ in parts], merged)
    assert TriageResult.from_dict(result.to_dict()) == result


def test_email_shows_the_triage_escaped_in_html_and_one_line_per_value(tmp_path: Path) -> None:
    summary = summarize_file(write(tmp_path, syn_flood()))
    hostile = TriageSummary.from_dict({**summary.to_dict(), "source": "<b>x</b>.cap",
                                       "warnings": ["<script>1</script>\nDownload link: https://evil"]})
    record = RunRecord(instance_id="i", target="/subscriptions/s/resourceGroups/g/providers/"
                       "Microsoft.Compute/virtualMachines/web-1", target_type="AzureVM", alert={},
                       status=RUN_SUCCEEDED, triage=TriageResult([hostile, summary]).to_dict())
    mail = render(record, None)
    for body in (mail.plain_text, mail.html):
        assert "90% of TCP segments were SYNs from 1 source to 10.0.0.5:443" in body
        assert "203.0.113.7" in body and "https" in body
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "&lt;b&gt;x&lt;/b&gt;.cap" in mail.html
    assert not [line for line in mail.plain_text.splitlines() if line.startswith("Download link")]


def test_email_says_when_triage_was_unavailable() -> None:
    record = RunRecord(instance_id="i", target="vm", target_type="AzureVM", alert={}, status=RUN_SUCCEEDED,
                       triage=TriageResult(error="triage failed after retries: HTTP 503").to_dict())
    mail = render(record, None)
    assert "Triage: unavailable: triage failed after retries: HTTP 503" in mail.plain_text
    assert "unavailable" in mail.html


def test_udp_service_port_is_where_the_first_datagram_went_unless_one_is_well_known(tmp_path: Path) -> None:
    packets = [gen.udp("10.0.0.3", "10.0.0.4", 40000, 50000), gen.udp("10.0.0.4", "10.0.0.3", 50000, 40000),
               gen.udp("10.0.0.4", "10.0.0.3", 50000, 40000),
               gen.udp("10.0.0.5", "10.0.0.6", 61000, 60000), gen.udp("10.0.0.6", "10.0.0.5", 60000, 61000),
               gen.udp("10.0.0.9", "10.0.0.8", 123, 45000)]  # a reply first, but 123 is ntp
    summary, _ = summarize(file_chunks(write(tmp_path, packets), 100))
    assert {(p.port, p.packets) for p in summary.top_ports} == {(50000, 3), (60000, 2), (123, 1)}
