"""A one-line, plain-language verdict when one pattern dominates a capture.

Checked in order, the first that holds wins: a SYN flood (most TCP segments are SYNs), a reset storm, one
conversation carrying most bytes, one service port receiving most packets, one host sending most bytes,
heavy retransmission. Otherwise the verdict names the top talker and the top port.
"""

from __future__ import annotations

from core.capfile.decode import address_text
from core.triage_model import TriageSummary
from core.triage_tables import Tables

DOMINANT = 0.5
MIN_SEGMENTS = 20


def _sources(count: int) -> str:
    return "1 source" if count == 1 else f"{count} sources"


def _syn_flood(summary: TriageSummary, tables: Tables) -> str:
    tcp = summary.tcp
    if tcp.segments < MIN_SEGMENTS or tcp.syns < DOMINANT * tcp.segments or not len(tables.services):
        return ""
    row = tables.services.top(0, 1)[0]
    key, (syns, acks) = tables.services.row_fields(row), tables.services.counters[row].tolist()
    sources = tables.syn_source_count(int(tables.services.keys[row]))
    unanswered = max(syns - acks, 0)
    return (f"{syns / tcp.segments:.0%} of TCP segments were SYNs from {_sources(sources)} to "
            f"{address_text(key['hi'], key['lo'])}:{key['port']}; {unanswered} of them got no SYN-ACK")


def _tcp_share(summary: TriageSummary, count: int, share: float, what: str) -> str:
    """``count`` as a share of the TCP segments, once there are enough segments and it reaches ``share``."""
    segments = summary.tcp.segments
    if segments < MIN_SEGMENTS or count < share * segments:
        return ""
    return f"{count / segments:.0%} of TCP segments were {what}"


def _resets(summary: TriageSummary) -> str:
    return _tcp_share(summary, summary.tcp.resets, 0.3, "resets (RST): connections are being refused")


def _dominates(amount: int, total: int) -> bool:
    """True when ``amount`` is at least the :data:`DOMINANT` share of a non-zero ``total``."""
    return total > 0 and amount >= DOMINANT * total


def _conversation(summary: TriageSummary) -> str:
    top = next(iter(summary.top_conversations_by_bytes), None)
    if top is None or not _dominates(top.bytes, summary.bytes):
        return ""
    return (f"{top.bytes / summary.bytes:.0%} of bytes were one {top.protocol} conversation: "
            f"{top.a}:{top.a_port} <-> {top.b}:{top.b_port}")


def _port(summary: TriageSummary) -> str:
    top = next(iter(summary.top_ports), None)
    if top is None or not _dominates(top.packets, summary.packets):
        return ""
    name = f" ({top.service})" if top.service else ""
    return (f"{top.packets / summary.packets:.0%} of packets were {top.protocol} to port {top.port}{name} "
            f"over {top.conversations} conversations; top sender {_top_sender(summary)}")


def _top_sender(summary: TriageSummary) -> str:
    talkers = summary.top_talkers_by_bytes + summary.top_talkers_by_packets
    return max(talkers, key=lambda t: (t.tx_bytes, t.tx_packets)).address if talkers else "?"


def _talker(summary: TriageSummary) -> str:
    top = max(summary.top_talkers_by_bytes, key=lambda t: t.tx_bytes, default=None)
    if top is None or not _dominates(top.tx_bytes, summary.bytes):
        return ""
    return f"{top.tx_bytes / summary.bytes:.0%} of bytes were sent by {top.address}"


def _retransmissions(summary: TriageSummary) -> str:
    return _tcp_share(summary, summary.tcp.retransmissions, 0.1, "retransmissions: packet loss")


def _fallback(summary: TriageSummary) -> str:
    if not summary.packets:
        return "no packets were captured"
    parts = []
    if summary.top_talkers_by_bytes:
        parts.append(f"top sender {_top_sender(summary)}")
    if summary.top_ports:
        port = summary.top_ports[0]
        parts.append(f"top port {port.protocol} {port.port}" + (f" ({port.service})" if port.service else ""))
    return "no single pattern dominates" + (": " + ", ".join(parts) if parts else "")


def verdict(summary: TriageSummary, tables: Tables) -> str:
    """The verdict line for ``summary`` (``tables`` holds the SYN sources per service)."""
    for text in (_syn_flood(summary, tables), _resets(summary), _conversation(summary), _port(summary),
                 _talker(summary), _retransmissions(summary)):
        if text:
            return text
    return _fallback(summary)
