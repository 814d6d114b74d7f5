"""Burst coverage: packets matched by identity between the reference and a run's files, within the window."""

from __future__ import annotations

import io

import dpkt

from devstack.demo.coverage import burst_coverage

PORT = 4242


def pcap(packets: list[tuple[float, int, int]]) -> bytes:
    """(time, sequence number, destination port) packets from 10.0.0.2 to 10.0.0.1."""
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out)
    for when, seq, port in packets:
        tcp = dpkt.tcp.TCP(sport=5000, dport=port, seq=seq, flags=dpkt.tcp.TH_ACK, data=b"x" * 10)
        ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([10, 0, 0, 1]), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
        ip.len = len(ip)
        writer.writepkt(bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=ip)), ts=when)
    return out.getvalue()


BURST = [(100.0 + i, 1000 + i, PORT) for i in range(10)]


def test_a_ring_with_the_whole_burst_covers_it_all():
    coverage = burst_coverage(pcap(BURST), [pcap(BURST[:6]), pcap(BURST[6:])], PORT)
    assert (coverage.matched, coverage.total, coverage.percent) == (10, 10, 100.0)
    assert (coverage.first, coverage.end) == (100.0, 109.0)


def test_a_capture_started_after_the_alert_misses_the_beginning():
    late = pcap([*BURST[7:], (110.0, 5, PORT + 1)])  # another port does not count
    coverage = burst_coverage(pcap(BURST), [late], PORT)
    assert (coverage.matched, coverage.total) == (3, 10) and round(coverage.percent) == 30
    assert "30.0% (3 of 10 burst packets" in coverage.line("unarmed vm")


def test_the_window_ends_with_the_capture_and_nothing_means_zero():
    early = burst_coverage(pcap(BURST), [pcap(BURST[:4])], PORT)
    assert (early.matched, early.total) == (4, 4)  # packets after the capture's end are not counted
    nothing = burst_coverage(pcap(BURST), [pcap([])], PORT)
    assert (nothing.matched, nothing.total, nothing.percent) == (0, 10, 0.0)
