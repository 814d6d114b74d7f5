"""Burst coverage for `make demo`: the share of the burst's packets a run's files hold.

Ground truth is a reference tcpdump the demo runs on the same namespace interface for the whole burst. For a
run, coverage counts the reference packets from the burst's first packet to the end of the run's capture (its
last packet) and the share of them that the run's files contain, matching packets by their IP/TCP identity
(addresses, ports, sequence and acknowledgement numbers, flags, payload length), not by time.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dpkt

from devstack.capture import netns
from devstack.capture.agent import CaptureAgent, CaptureSession, CaptureSpec
from devstack.common.clock import Clock

PacketKey = tuple[bytes, bytes, int, int, int, int, int, int]


@dataclass(frozen=True)
class Coverage:
    """How much of the burst one run's files hold."""

    matched: int
    total: int
    first: float | None = None  # the burst's first packet
    end: float | None = None  # the run's last captured packet

    @property
    def percent(self) -> float:
        """The share in percent (0 when there was nothing to cover)."""
        return 100.0 * self.matched / self.total if self.total else 0.0

    def line(self, label: str) -> str:
        """`armed vm-demo: 98.7% (150 of 152 burst packets, first packet to end of capture)`."""
        return (f"{label}: {self.percent:.1f}% ({self.matched} of {self.total} burst packets, from the "
                f"burst's first packet to the end of the capture)")


def _packets(data: bytes, port: int) -> Iterable[tuple[float, PacketKey]]:
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    for when, frame in reader:
        packet = dpkt.ethernet.Ethernet(frame).data
        if not isinstance(packet, dpkt.ip.IP) or not isinstance(packet.data, dpkt.tcp.TCP):
            continue
        ip: Any = packet  # dpkt makes header fields at run time: a type checker cannot see them
        tcp: Any = packet.data
        if port in (tcp.sport, tcp.dport):
            yield when, (ip.src, ip.dst, tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags, len(tcp.data))


def burst_coverage(reference: bytes, files: list[bytes], port: int) -> Coverage:
    """Coverage of the reference burst (to/from `port`) by `files`."""
    truth = sorted(_packets(reference, port))
    got: set[PacketKey] = set()
    end: float | None = None
    for data in files:
        for when, key in _packets(data, port):
            got.add(key)
            end = when if end is None else max(end, when)
    if not truth or end is None:
        return Coverage(0, len(truth), truth[0][0] if truth else None, end)
    first = truth[0][0]
    window = [key for when, key in truth if first <= when <= end]
    return Coverage(sum(1 for key in window if key in got), len(window), first, end)


class ReferenceCapture:
    """tcpdump on a namespace's interface for the demo's ground truth (the devstack's own capture agent)."""

    def __init__(self, namespace: str, port: int, path: Path) -> None:
        self.agent = CaptureAgent(Clock(), upload=None)
        self.spec = CaptureSpec(capture_id="demo-reference", interface=netns.INNER_INTERFACE, netns=namespace,
                                snaplen=0, bpf=f"tcp port {port}", time_limit_s=3600, total_bytes=0,
                                storage_path="", file_path=path)
        self.session: CaptureSession | None = None

    async def start(self) -> bool:
        """Start; False when tcpdump could not start (the demo then reports no coverage)."""
        self.session = await self.agent.start(self.spec)
        return self.session.status == "Running"

    async def stop(self) -> bytes:
        """Stop and return the pcap ('' when it never ran)."""
        if self.session is not None:
            await self.agent.stop(self.session, upload=False)
        await self.agent.close()
        return self.spec.file_path.read_bytes() if self.spec.file_path.exists() else b""
