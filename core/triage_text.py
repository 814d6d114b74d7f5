"""The triage summary as titled tables of text, shared by the email (plain and HTML) and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.triage_model import TriageResult, TriageSummary

MAX_FILES_LISTED = 20


@dataclass(frozen=True)
class TriageSection:
    """One block: a title, label/value facts, or a table (``header`` + ``rows``)."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def size_text(size: int) -> str:
    """Bytes in binary units: ``532 B``, ``1.4 MiB``."""
    value, unit = float(size), "B"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, next_unit
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def rate_text(bits: int) -> str:
    """Bits per second in SI units: ``12.3 Mbit/s``."""
    value, unit = float(bits), "bit/s"
    for next_unit in ("kbit/s", "Mbit/s", "Gbit/s"):
        if value < 1000:
            break
        value, unit = value / 1000, next_unit
    return f"{bits} bit/s" if unit == "bit/s" else f"{value:.1f} {unit}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _overview(summary: TriageSummary) -> TriageSection:
    tcp = summary.tcp
    peak = f"{summary.peak_packets_per_second:,} packets/s, {rate_text(summary.peak_bits_per_second)}"
    protocols = ", ".join(f"{p.protocol} {_share(p.packets, summary.packets)}" for p in summary.protocols)
    facts = [
        ("Verdict", summary.verdict),
        ("Packets", f"{summary.packets:,}"),
        ("Bytes", f"{size_text(summary.bytes)} ({summary.bytes:,} bytes)"),
        ("Duration", f"{summary.duration_seconds:.1f} s"),
        ("Peak rate", peak),
        ("Protocols", protocols),
        ("TCP health", f"{tcp.syns:,} SYNs ({tcp.unanswered_syns:,} without SYN-ACK), {tcp.resets:,} resets, "
                       f"{tcp.retransmissions:,} retransmissions, {tcp.zero_windows:,} zero windows"),
    ]
    if not summary.complete:
        facts.append(("Coverage", f"partial: {size_text(summary.bytes_read)} of the file summarised"))
    if summary.warnings:
        facts.append(("Warnings", "; ".join(summary.warnings)))
    return TriageSection("What the capture caught", facts=[(k, v) for k, v in facts if v])


def _talkers(summary: TriageSummary) -> TriageSection:
    rows = [[t.address, f"{t.packets:,}", size_text(t.bytes), _share(t.bytes, summary.bytes),
             size_text(t.tx_bytes), size_text(t.rx_bytes)] for t in summary.top_talkers_by_bytes]
    return TriageSection("Top talkers (by bytes)", header=["Address", "Packets", "Bytes", "Share", "Sent",
                                                            "Received"], rows=rows)


def _conversations(summary: TriageSummary) -> TriageSection:
    rows = [[c.protocol, f"{c.a}:{c.a_port}", f"{c.b}:{c.b_port}", f"{c.packets:,}", size_text(c.bytes),
             _share(c.bytes, summary.bytes)] for c in summary.top_conversations_by_bytes]
    return TriageSection("Top conversations (by bytes)", header=["Protocol", "A", "B", "Packets", "Bytes",
                                                                  "Share"], rows=rows)


def _ports(summary: TriageSummary) -> TriageSection:
    rows = [[p.protocol, str(p.port), p.service, f"{p.packets:,}", size_text(p.bytes), f"{p.conversations:,}"]
            for p in summary.top_ports]
    return TriageSection("Top destination ports", header=["Protocol", "Port", "Service", "Packets", "Bytes",
                                                           "Conversations"], rows=rows)


def _files(result: TriageResult) -> TriageSection:
    rows = [[f.source, f"{f.packets:,}", size_text(f.bytes), f.verdict, "; ".join(f.warnings)]
            for f in result.files[:MAX_FILES_LISTED]]
    return TriageSection("Per file", header=["File", "Packets", "Bytes", "Verdict", "Warnings"], rows=rows)


def triage_sections(result: TriageResult) -> list[TriageSection]:
    """The sections to show for a run's triage (empty when the run has none)."""
    if result.error:
        return [TriageSection("What the capture caught", facts=[("Triage", f"unavailable: {result.error}")])]
    summary = result.overall
    if summary is None:
        return []
    sections = [_overview(summary)]
    if summary.packets:
        sections += [s for s in (_talkers(summary), _conversations(summary), _ports(summary)) if s.rows]
    if len(result.files) > 1:
        sections.append(_files(result))
    return sections


def plain_lines(sections: list[TriageSection]) -> list[str]:
    """The sections as plain-text lines (one fact or row per line; columns separated by two spaces)."""
    lines: list[str] = []
    for section in sections:
        lines += ["", section.title, "-" * len(section.title)]
        lines += [f"{k}: {' '.join(v.split())}" for k, v in section.facts]
        if section.rows:
            table = [section.header, *section.rows]
            widths = [max(len(row[i]) for row in table) for i in range(len(section.header))]
            lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                      for row in table]
    return lines
