"""The triage summary of a capture (shown by the email, the run output and the CLI) and the activity payloads.

Plain dataclasses with ``to_dict``/``from_dict``: the activity returns ``TriageResult.to_dict()`` and the
orchestrator decodes it with ``TriageResult.from_dict``; the run record carries the dict form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TRIAGE_BUDGET_SECONDS = 240.0  # of the activity's 10 min function timeout (host.json); then a prefix summary


@dataclass(frozen=True)
class Talker:
    """One IP endpoint: packets and bytes it sent and received (tshark's ``endpoints,ip`` figures)."""

    address: str
    packets: int
    bytes: int
    tx_packets: int
    tx_bytes: int
    rx_packets: int
    rx_bytes: int


@dataclass(frozen=True)
class Conversation:
    """One TCP or UDP conversation between two address/port pairs (tshark's ``conv,tcp``/``conv,udp``)."""

    protocol: str
    a: str
    a_port: int
    b: str
    b_port: int
    packets_ab: int
    bytes_ab: int
    packets_ba: int
    bytes_ba: int

    @property
    def packets(self) -> int:
        """Frames both ways."""
        return self.packets_ab + self.packets_ba

    @property
    def bytes(self) -> int:
        """Bytes both ways."""
        return self.bytes_ab + self.bytes_ba


@dataclass(frozen=True)
class PortUse:
    """Traffic to one service port (the port a SYN went to, else the lower port of the conversation)."""

    protocol: str
    port: int
    service: str
    packets: int
    bytes: int
    conversations: int


@dataclass(frozen=True)
class ProtocolUse:
    """Packets and bytes of one protocol (TCP, UDP, ICMP, ICMPv6, ARP, other IPv4/IPv6, non-IP)."""

    protocol: str
    packets: int
    bytes: int


@dataclass(frozen=True)
class TcpHealth:
    """TCP symptoms: SYNs nobody answered, resets, retransmitted segments, zero-window advertisements."""

    segments: int = 0
    syns: int = 0
    syn_acks: int = 0
    unanswered_syns: int = 0
    resets: int = 0
    retransmissions: int = 0
    zero_windows: int = 0


def _rows(cls: type, items: Any) -> list:
    return [cls(**item) for item in items or []]


@dataclass(frozen=True)
class TriageSummary:
    """What one capture file (or the merge of several) caught."""

    source: str = ""
    file_format: str = ""
    size_bytes: int | None = None
    bytes_read: int = 0
    complete: bool = True
    packets: int = 0
    bytes: int = 0
    first_time: float | None = None
    last_time: float | None = None
    duration_seconds: float = 0.0
    peak_packets_per_second: int = 0
    peak_bits_per_second: int = 0
    top_talkers_by_bytes: list[Talker] = field(default_factory=list)
    top_talkers_by_packets: list[Talker] = field(default_factory=list)
    top_conversations_by_bytes: list[Conversation] = field(default_factory=list)
    top_conversations_by_packets: list[Conversation] = field(default_factory=list)
    top_ports: list[PortUse] = field(default_factory=list)
    protocols: list[ProtocolUse] = field(default_factory=list)
    tcp: TcpHealth = field(default_factory=TcpHealth)
    verdict: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageSummary:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        plain = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key, row in (("top_talkers_by_bytes", Talker), ("top_talkers_by_packets", Talker),
                         ("top_conversations_by_bytes", Conversation),
                         ("top_conversations_by_packets", Conversation), ("top_ports", PortUse),
                         ("protocols", ProtocolUse)):
            plain[key] = _rows(row, data.get(key))
        plain["tcp"] = TcpHealth(**(data.get("tcp") or {}))
        plain["warnings"] = list(data.get("warnings") or [])
        return cls(**plain)


@dataclass(frozen=True)
class TriageRequest:
    """The triage activity's input: the capture files of the run (blob URLs) and the time budget."""

    files: list[str]
    budget_seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"files": list(self.files), "budget_seconds": self.budget_seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageRequest:
        """Inverse of :meth:`to_dict`."""
        return cls([str(f) for f in data.get("files", [])], float(data.get("budget_seconds", 0)))


@dataclass(frozen=True)
class TriageResult:
    """The triage activity's output: one summary per file, plus the merged view when there are several."""

    files: list[TriageSummary] = field(default_factory=list)
    merged: TriageSummary | None = None
    error: str = ""

    @property
    def overall(self) -> TriageSummary | None:
        """The summary to show first: the merged one, or the only file's."""
        if self.merged is not None:
            return self.merged
        return self.files[0] if self.files else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the run record's ``triage`` field holds)."""
        return {"files": [f.to_dict() for f in self.files],
                "merged": self.merged.to_dict() if self.merged else None, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TriageResult:
        """Inverse of :meth:`to_dict`; None or {} is "no triage"."""
        data = data or {}
        merged = data.get("merged")
        return cls([TriageSummary.from_dict(f) for f in data.get("files") or []],
                   TriageSummary.from_dict(merged) if merged else None, str(data.get("error", "")))
