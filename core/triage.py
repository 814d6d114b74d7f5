"""Summarise a capture: who talked to whom, how much, over what, and what looks wrong.

``summarize(chunks)`` streams a capture's bytes through the reader (``core.capfile``) into bounded tables
(``core.triage_tables``) and returns a :class:`TriageSummary`. It never raises on a bad file: garbage, a cut
short or empty file, unknown pcapng blocks give a summary of what was read plus warnings. A time budget (or a
byte budget) stops the reading early; the summary then covers that prefix and says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.capfile import WalkState, decode, walk
from core.capfile.decode import TCP, address_text
from core.counttable import CountTable
from core.services import KNOWN_PORTS, service_name
from core.triage_model import Conversation, PortUse, ProtocolUse, Talker, TcpHealth, TriageSummary
from core.triage_tables import (
    CONV_BYTES,
    CONV_BYTES_AB,
    CONV_BYTES_BA,
    CONV_FIRST_TO_B,
    CONV_PACKETS_AB,
    CONV_PACKETS_BA,
    CONV_SYN_TO_A,
    CONV_SYN_TO_B,
    EP_BYTES,
    EP_PACKETS,
    EP_RX_BYTES,
    EP_RX_PACKETS,
    EP_TX_BYTES,
    EP_TX_PACKETS,
    Tables,
)
from core.triage_verdict import verdict

CHUNK_BYTES = 4 * 1024 * 1024
TOP = 10
_PROTOCOL_NAMES = {TCP: "TCP", 17: "UDP"}


def file_chunks(path: Path | str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The bytes of a local file, ``chunk_bytes`` at a time."""
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk


def scan(chunks: Iterable[bytes], deadline: float | None = None, max_bytes: int | None = None
         ) -> tuple[Tables, WalkState]:
    """Accumulate the tables of one capture; stop at ``deadline`` (``time.monotonic()``) or ``max_bytes``."""
    tables, state = Tables(), WalkState()
    try:
        for batch in walk(chunks, state):
            tables.add(decode(batch), batch.wirelens, batch.times)
            if deadline is not None and time.monotonic() > deadline:
                state.warn("the time budget ran out: this summary covers only the start of the capture")
                state.stopped = True
                break
            if max_bytes is not None and state.bytes_read >= max_bytes:
                state.warn(f"the byte budget ({max_bytes} bytes) ran out: this summary covers only the start "
                           "of the capture")
                state.stopped = True
                break
    except OSError as exc:  # the source failed mid-way (a file read, a storage stream)
        state.warn(f"reading stopped early: {type(exc).__name__}: {str(exc)[:200]}")
        state.stopped = True
    return tables, state


def summarize(chunks: Iterable[bytes], source: str = "", size_bytes: int | None = None,
              deadline: float | None = None, max_bytes: int | None = None) -> tuple[TriageSummary, Tables]:
    """The summary of one capture streamed as ``chunks``, and its tables (to merge with other files)."""
    tables, state = scan(chunks, deadline, max_bytes)
    complete = not state.stopped
    warnings = list(state.warnings or [])
    if state.bytes_read and size_bytes and state.bytes_read < size_bytes and state.stopped:
        warnings.append(f"summarised {state.bytes_read:,} of {size_bytes:,} bytes")
    return build(tables, source=source, file_format=state.file_format, size_bytes=size_bytes,
                 bytes_read=state.bytes_read, complete=complete, warnings=warnings), tables


def summarize_file(path: Path | str, deadline: float | None = None) -> TriageSummary:
    """The summary of a local capture file."""
    path = Path(path)
    size = path.stat().st_size
    return summarize(file_chunks(path), source=path.name, size_bytes=size, deadline=deadline)[0]


def merge(summaries: list[TriageSummary], tables: list[Tables]) -> TriageSummary:
    """One summary over several files of the same run (a scale set's instances)."""
    total = Tables()
    for part in tables:
        total.merge(part)
    warnings = [f"{s.source}: {w}" for s in summaries for w in s.warnings]
    sizes = [s.size_bytes for s in summaries]
    return build(total, source=f"{len(summaries)} files", file_format="merged",
                 size_bytes=None if None in sizes else sum(s for s in sizes if s is not None),
                 bytes_read=sum(s.bytes_read for s in summaries), complete=all(s.complete for s in summaries),
                 warnings=warnings)


# --- building the summary from the tables ------------------------------------------------------------


def _talker(tables: Tables, row: int) -> Talker:
    key, c = tables.endpoints.row_fields(row), tables.endpoints.counters[row].tolist()
    return Talker(address_text(key["hi"], key["lo"]), c[EP_PACKETS], c[EP_BYTES], c[EP_TX_PACKETS],
                  c[EP_TX_BYTES], c[EP_RX_PACKETS], c[EP_RX_BYTES])


def _conversation(tables: Tables, row: int) -> Conversation:
    key, c = tables.conversations.row_fields(row), tables.conversations.counters[row].tolist()
    protocol = _PROTOCOL_NAMES.get(key["proto"], str(key["proto"]))
    return Conversation(protocol, address_text(key["a_hi"], key["a_lo"]), key["a_port"],
                        address_text(key["b_hi"], key["b_lo"]), key["b_port"],
                        c[CONV_PACKETS_AB], c[CONV_BYTES_AB], c[CONV_PACKETS_BA], c[CONV_BYTES_BA])


def talkers(tables: Tables) -> list[Talker]:
    """Every endpoint in the tables (not only the top ones)."""
    return [_talker(tables, row) for row in range(len(tables.endpoints))]


def conversations(tables: Tables) -> list[Conversation]:
    """Every conversation in the tables (not only the top ones)."""
    return [_conversation(tables, row) for row in range(len(tables.conversations))]


def _service_ports(table: CountTable) -> np.ndarray:
    """Per conversation, the port of its service: where its SYNs went; else the one well-known port
    (below 1024 or named); else where its first packet went."""
    c, f = table.counters, table.fields
    a_port, b_port = f["a_port"].astype(np.int64), f["b_port"].astype(np.int64)
    to_b = (c[:, CONV_SYN_TO_B] > 0) & (c[:, CONV_SYN_TO_A] == 0)
    to_a = (c[:, CONV_SYN_TO_A] > 0) & (c[:, CONV_SYN_TO_B] == 0)
    a_known, b_known = _well_known(a_port), _well_known(b_port)
    port = np.where(c[:, CONV_FIRST_TO_B] > 0, b_port, a_port)
    port = np.where(a_known & ~b_known, a_port, np.where(b_known & ~a_known, b_port, port))
    return np.where(to_b, b_port, np.where(to_a, a_port, port))


def _well_known(ports: np.ndarray) -> np.ndarray:
    return (ports < 1024) | np.isin(ports, KNOWN_PORTS)


def _ports(tables: Tables) -> list[PortUse]:
    """Traffic per service port (see ``_service_ports``)."""
    table = tables.conversations
    if not len(table):
        return []
    c, f = table.counters, table.fields
    port = _service_ports(table)
    proto = f["proto"].astype(np.int64)
    keys, inverse = np.unique(proto * 65536 + port, return_inverse=True)
    packets = np.bincount(inverse, c[:, CONV_PACKETS_AB] + c[:, CONV_PACKETS_BA]).astype(np.int64)
    size = np.bincount(inverse, c[:, CONV_BYTES]).astype(np.int64)
    count = np.bincount(inverse).astype(np.int64)
    rows = []
    for index in np.argsort(-packets, kind="stable")[:TOP].tolist():
        name = _PROTOCOL_NAMES.get(int(keys[index]) // 65536, "?")
        number = int(keys[index]) % 65536
        rows.append(PortUse(name, number, service_name(name, number), int(packets[index]), int(size[index]),
                            int(count[index])))
    return rows


def _warnings(tables: Tables, warnings: list[str]) -> list[str]:
    extra = [f"the {name} table reached its cap; its smallest entries were evicted, so small ones may be "
             "missing" for name in sorted(tables.evicted)]
    return list(warnings) + extra


def build(tables: Tables, *, source: str, file_format: str, size_bytes: int | None, bytes_read: int,
          complete: bool, warnings: list[str]) -> TriageSummary:
    """Turn the tables into the summary (top-N lists, rates, TCP health, verdict)."""
    endpoints, conversations = tables.endpoints, tables.conversations
    conv_packets = conversations.counters[:, CONV_PACKETS_AB] + conversations.counters[:, CONV_PACKETS_BA]
    first = tables.first_time if math.isfinite(tables.first_time) else None
    last = tables.last_time if math.isfinite(tables.last_time) else None
    pps, bps = tables.peaks()
    health = TcpHealth(tables.tcp_segments, tables.syns, tables.syn_acks, tables.unanswered_syns(),
                       tables.resets, tables.retransmissions, tables.zero_windows)
    protocols = sorted((ProtocolUse(name, p, b) for name, (p, b) in tables.protocols.items()),
                       key=lambda row: row.packets, reverse=True)
    summary = TriageSummary(
        source=source, file_format=file_format, size_bytes=size_bytes, bytes_read=bytes_read,
        complete=complete and not tables.evicted, packets=tables.packets, bytes=tables.bytes,
        first_time=first, last_time=last,
        duration_seconds=round(last - first, 6) if first is not None and last is not None else 0.0,
        peak_packets_per_second=pps, peak_bits_per_second=bps,
        top_talkers_by_bytes=[_talker(tables, r) for r in endpoints.top(EP_BYTES, TOP)],
        top_talkers_by_packets=[_talker(tables, r) for r in endpoints.top(EP_PACKETS, TOP)],
        top_conversations_by_bytes=[_conversation(tables, r) for r in conversations.top(CONV_BYTES, TOP)],
        top_conversations_by_packets=[_conversation(tables, r) for r in conversations.top(conv_packets, TOP)],
        top_ports=_ports(tables), protocols=protocols, tcp=health, warnings=_warnings(tables, warnings))
    return replace(summary, verdict=verdict(summary, tables))
