"""tshark as the oracle: its conversation, endpoint and total figures for a capture file."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.triage import conversations, file_chunks, summarize, talkers

SIZE_UNITS = {"bytes": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9}


@dataclass(frozen=True)
class TsharkView:
    """What tshark reports for one file."""

    frames: int
    bytes: int
    conversations: dict[tuple[str, frozenset], tuple[int, str]]  # (proto, {ep, ep}) -> (frames, total bytes)
    directions: dict[tuple[str, str, str], int]  # (proto, from "addr:port", to "addr:port") -> frames
    endpoints: dict[str, tuple[int, int, int, int, int, int]]  # address -> packets, bytes, tx p/b, rx p/b


def run(path: Path) -> TsharkView:
    """Run tshark once with conv,tcp, conv,udp, endpoints,ip and io,stat,0 and parse the tables."""
    out = subprocess.run(["tshark", "-r", str(path), "-q", "-z", "conv,tcp", "-z", "conv,udp",
                          "-z", "endpoints,ip", "-z", "io,stat,0"], capture_output=True, text=True,
                         check=False).stdout
    conversations, directions, endpoints = {}, {}, {}
    section = ""
    frames = size = 0
    for line in out.splitlines():
        if line.strip() in ("TCP Conversations", "UDP Conversations", "IPv4 Endpoints"):
            section = line.split()[0]
            continue
        row = re.match(r"^(\S+)\s+<->\s+(\S+)\s+(\d+) (\d+ \w+)\s+(\d+) (\d+ \w+)\s+(\d+) (\d+ \w+)", line)
        if row and section in ("TCP", "UDP"):
            a, b = row.group(1), row.group(2)
            conversations[(section, frozenset((a, b)))] = (int(row.group(7)), row.group(8))
            directions[(section, b, a)] = int(row.group(3))  # "<-": frames from B to A
            directions[(section, a, b)] = int(row.group(5))
            continue
        ep = re.match(r"^(\d+\.\d+\.\d+\.\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", line)
        if ep and section == "IPv4":
            endpoints[ep.group(1)] = tuple(int(ep.group(i)) for i in range(2, 8))
            continue
        total = re.match(r"^\|\s*[\d.]+ <> [\d.A-Za-z]+\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", line)
        if total:
            frames, size = int(total.group(1)), int(total.group(2))
    return TsharkView(frames, size, conversations, directions, endpoints)


def size_matches(ours: int, shown: str) -> bool:
    """tshark prints sizes as "123 bytes" (exact) or "12 kB" (rounded): does ``ours`` print the same?"""
    number, unit = shown.split()
    scale = SIZE_UNITS[unit]
    return ours == int(number) if scale == 1 else abs(ours / scale - int(number)) <= 1


def assert_matches_tshark(path: Path, chunk: int = 1 << 20) -> None:
    """Totals, every TCP/UDP conversation (both directions) and every IPv4 endpoint equal tshark's."""
    summary, tables = summarize(file_chunks(path, chunk), source=path.name)
    view = run(path)
    assert (summary.packets, summary.bytes) == (view.frames, view.bytes)
    ours = {}
    for conv in conversations(tables):
        a, b = f"{conv.a}:{conv.a_port}", f"{conv.b}:{conv.b_port}"  # tshark 4.0: no brackets for IPv6
        ours[(conv.protocol, frozenset((a, b)))] = (conv.packets, conv.bytes, {(a, b): conv.packets_ab,
                                                                                (b, a): conv.packets_ba})
    assert set(ours) == set(view.conversations)
    for key, (frames, size, directions) in ours.items():
        assert frames == view.conversations[key][0], key
        assert size_matches(size, view.conversations[key][1]), (key, size, view.conversations[key])
        for (src, dst), count in directions.items():
            assert view.directions[(key[0], src, dst)] == count, (key, src, dst)
    v4 = {t.address: (t.packets, t.bytes, t.tx_packets, t.tx_bytes, t.rx_packets, t.rx_bytes)
          for t in talkers(tables) if ":" not in t.address}
    assert v4 == view.endpoints
    assert view.frames > 0
