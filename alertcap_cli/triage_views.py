"""Human views of a capture's triage summary (`runs show`, `pcap summary`), from core's text sections."""

from __future__ import annotations

from typing import Any

from alertcap_cli.render import Column, Record, Table, View
from core.triage_model import TriageResult
from core.triage_text import triage_sections

FLEX_COLUMNS = {"A", "B", "Address", "Verdict", "Warnings", "File", "Service"}


def triage_views(result: TriageResult) -> list[View]:
    """A record for the overview and a table per top-N list."""
    views: list[View] = []
    for section in triage_sections(result):
        if section.facts:
            views.append(Record(section.facts, title=section.title))
        if section.rows:
            columns = [Column(h, flex=h in FLEX_COLUMNS, min_width=6) for h in section.header]
            views.append(Table(columns, section.rows, title=section.title))
    return views


def run_triage_views(capture: dict[str, Any]) -> list[View]:
    """The triage views of a run's output record ([] while running or for runs without triage)."""
    triage = capture.get("triage")
    return triage_views(TriageResult.from_dict(triage)) if isinstance(triage, dict) and triage else []
