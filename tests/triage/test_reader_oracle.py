"""The reader and summary against tshark (the oracle) on generated captures of every supported shape."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest
import triage_oracle as oracle
import triage_pcaps as gen

from core.triage import file_chunks, summarize

SYN, ACK, RST, PSH = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_RST, dpkt.tcp.TH_PUSH


def mixed_packets() -> list[dpkt.Packet]:
    """TCP both ways with a handshake, UDP, ICMP, over IPv4 and IPv6."""
    packets = [
        gen.tcp("10.0.0.1", "10.0.0.2", 40000, 443, flags=SYN, seq=1),
        gen.tcp("10.0.0.2", "10.0.0.1", 443, 40000, flags=SYN | ACK, seq=9),
        gen.tcp("10.0.0.1", "10.0.0.2", 40000, 443, seq=2),
    ]
    for i in range(30):
        packets.append(gen.tcp("10.0.0.1", "10.0.0.2", 40000, 443, flags=PSH | ACK, seq=2 + 100 * i,
                               payload=b"a" * 100))
        packets.append(gen.tcp("10.0.0.2", "10.0.0.1", 443, 40000, seq=10))
    packets += [gen.udp("10.0.0.3", "10.0.0.53", 5353 + i, 53) for i in range(5)]
    packets += [gen.udp("10.0.0.53", "10.0.0.3", 53, 5353 + i, payload=b"r" * 60) for i in range(5)]
    packets += [gen.icmp_echo("10.0.0.1", "10.0.0.9"), gen.icmp_echo("fd00::1", "fd00::2")]
    packets += [gen.tcp("fd00::1", "fd00::2", 50000, 22, payload=b"s" * 40) for _ in range(4)]
    packets += [gen.udp("fd00::2", "fd00::1", 123, 123) for _ in range(3)]
    return packets


def timed(frames: list[bytes], start: float = 1_700_000_000.25) -> list[gen.Frame]:
    return [(start + i * 0.01, frame) for i, frame in enumerate(frames)]


@pytest.mark.parametrize("shape", ["pcap", "pcap-big-endian", "pcap-nanosecond", "pcapng",
                                   "pcapng-unknown-blocks"])
def test_file_formats_match_tshark(tmp_path: Path, shape: str) -> None:
    frames = timed([gen.ethernet(p) for p in mixed_packets()] + [gen.arp()])
    path = tmp_path / f"{shape}.cap"
    if shape.startswith("pcapng"):
        gen.write_pcapng(path, frames, unknown_every=7 if "unknown" in shape else 0)
    else:
        gen.write_pcap(path, frames, big_endian="big" in shape, nano="nano" in shape)
    oracle.assert_matches_tshark(path)
    summary, _ = summarize(file_chunks(path))
    assert summary.file_format.startswith(shape.split("-")[0])
    assert summary.first_time == pytest.approx(1_700_000_000.25, abs=1e-6)
    assert summary.duration_seconds == pytest.approx((len(frames) - 1) * 0.01, abs=1e-6)
    if "unknown" in shape:
        assert any("unknown types were skipped" in w for w in summary.warnings)


@pytest.mark.parametrize("link", ["vlan", "sll", "sll2", "raw"])
def test_link_types_match_tshark(tmp_path: Path, link: str) -> None:
    packets = mixed_packets()
    build = {"vlan": lambda p: gen.ethernet(p, vlan=42), "sll": gen.sll, "sll2": gen.sll2, "raw": bytes}[link]
    linktype = {"vlan": 1, "sll": 113, "sll2": 276, "raw": 101}[link]
    path = gen.write_pcap(tmp_path / f"{link}.pcap", timed([build(p) for p in packets]), linktype=linktype)
    oracle.assert_matches_tshark(path)
    summary, _ = summarize(file_chunks(path))
    mix = {p.protocol: p.packets for p in summary.protocols}
    assert mix == {"TCP": 67, "UDP": 13, "ICMP": 1, "ICMPv6": 1}


def test_record_split_across_every_chunk_boundary(tmp_path: Path) -> None:
    frames = timed([gen.ethernet(p) for p in mixed_packets()])
    for writer in (gen.write_pcap, gen.write_pcapng):
        path = writer(tmp_path / "split.cap", frames)
        whole, _ = summarize(file_chunks(path))
        for size in (1, 7, 64, 1000):
            tiny, _ = summarize(file_chunks(path, size))
            assert tiny == whole, size
        assert whole.complete and not whole.warnings


def test_bogus_header_lengths_are_not_transport_headers(tmp_path: Path) -> None:
    good = gen.tcp("10.0.0.1", "10.0.0.2", 40000, 443, payload=b"g" * 30)
    bad_tcp = bytearray(bytes(gen.tcp("10.0.0.1", "10.0.0.2", 40001, 443, payload=b"b" * 30)))
    bad_tcp[20 + 12] = 0x20  # TCP data offset 2 words (8 bytes): bogus
    bad_ip = bytearray(bytes(gen.udp("10.0.0.1", "10.0.0.2", 5000, 53)))
    bad_ip[0] = 0x43  # IHL 3 words (12 bytes): bogus
    frames = [bytes(gen.ethernet(good)), gen.MAC_B + gen.MAC_A + b"\x08\x00" + bytes(bad_tcp),
              gen.MAC_B + gen.MAC_A + b"\x08\x00" + bytes(bad_ip)]
    path = gen.write_pcap(tmp_path / "bogus.pcap", timed(frames))
    oracle.assert_matches_tshark(path)
    summary, _ = summarize(file_chunks(path))
    assert summary.packets == 3
    assert [(c.a_port, c.b_port) for c in summary.top_conversations_by_packets] == [(40000, 443)]
