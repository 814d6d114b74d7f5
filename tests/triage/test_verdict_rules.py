"""The verdict's rules on hand-built summaries: each dominant pattern, its threshold, and empty totals."""

from __future__ import annotations

from core.triage_model import PortUse, Talker, TcpHealth, TriageSummary
from core.triage_tables import Tables
from core.triage_verdict import verdict


def _verdict(**fields: object) -> str:
    return verdict(TriageSummary(**fields), Tables())  # type: ignore[arg-type]


def test_reset_and_retransmission_shares_of_tcp_segments() -> None:
    assert _verdict(packets=100, tcp=TcpHealth(segments=100, resets=40)) == \
        "40% of TCP segments were resets (RST): connections are being refused"
    assert _verdict(packets=100, tcp=TcpHealth(segments=100, retransmissions=15)) == \
        "15% of TCP segments were retransmissions: packet loss"


def test_tcp_shares_need_enough_segments_and_their_threshold() -> None:
    assert _verdict(packets=10, tcp=TcpHealth(segments=10, resets=10)).startswith("no single pattern")
    assert _verdict(packets=100, tcp=TcpHealth(segments=100, resets=29)).startswith("no single pattern")


def test_a_dominant_port_and_a_dominant_sender() -> None:
    sender = Talker("10.0.0.9", 60, 700, 60, 700, 0, 0)
    port = PortUse("TCP", 443, "https", 60, 600, 3)
    assert _verdict(packets=100, bytes=1000, top_ports=[port], top_talkers_by_bytes=[sender]) == \
        "60% of packets were TCP to port 443 (https) over 3 conversations; top sender 10.0.0.9"
    assert _verdict(packets=100, bytes=1000, top_talkers_by_bytes=[sender]) == \
        "70% of bytes were sent by 10.0.0.9"


def test_zero_totals_never_dominate() -> None:
    port = PortUse("UDP", 53, "domain", 0, 0, 1)
    assert _verdict(top_ports=[port]) == "no packets were captured"
