"""Render the operator email for a run, in plain text and HTML. Every value is escaped in the HTML body."""

from __future__ import annotations

import html
from dataclasses import dataclass

from core.records import SUCCEEDED, RunRecord


@dataclass(frozen=True)
class EmailContent:
    """Subject and bodies of one email."""

    subject: str
    plain_text: str
    html: str


def _one_line(text: str, limit: int = 200) -> str:
    """Subjects must not carry newlines (header injection) and stay short."""
    return " ".join(str(text).split())[:limit]


def facts(record: RunRecord, link: str | None) -> list[tuple[str, str]]:
    """The label/value rows shown in both bodies."""
    alert = record.alert
    rows = [
        ("Outcome", "capture completed" if record.status == SUCCEEDED else f"failed: {record.reason}"),
        ("Target", record.target),
        ("Alert rule", alert.get("rule", "")),
        ("Severity", alert.get("severity", "")),
        ("Alert fired", alert.get("fired_at", "")),
        ("Alert id", alert.get("alert_id", "")),
        ("Run", record.instance_id),
    ]
    optional = [
        ("Capture", record.capture_name),
        ("Capture status", record.capture_status),
        ("Stop reason", record.stop_reason),
        ("Capture errors", ", ".join(record.capture_errors)),
        ("Stopped by alertcap (overrun)", "yes" if record.stopped_by_us else ""),
        ("Capture started", record.timings.get("capture_created", "")),
        ("Capture finished", record.timings.get("capture_finished", "")),
        ("Size (bytes)", "" if record.size_bytes is None else str(record.size_bytes)),
        ("Blob", record.storage_path),
        ("Download link", link or ""),
        ("Extra alerts recorded", str(record.extra_alert_count) if record.extra_alert_count else ""),
    ]
    return rows + [(k, v) for k, v in optional if v]


def render(record: RunRecord, link: str | None) -> EmailContent:
    """Build the email for ``record``; ``link`` is the time-limited download link (success only)."""
    verdict = "Packet capture ready" if record.status == SUCCEEDED else "Packet capture FAILED"
    vm = record.target.rsplit("/", 1)[-1]
    subject = _one_line(f"[alertcap] {verdict}: {vm} ({record.alert.get('rule', '')})")
    rows = facts(record, link)
    # one line per fact: a value from the alert cannot forge a line (e.g. a second "Download link:")
    plain = "\n".join([verdict, "", *(f"{k}: {_one_line(v, 4096)}" for k, v in rows), ""])
    cells = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{_cell(k, v)}</td></tr>" for k, v in rows
    )
    body = (
        f"<html><body><h2>{html.escape(verdict)}</h2>"
        f"<table cellpadding='4'>{cells}</table></body></html>"
    )
    return EmailContent(subject, plain, body)


def _cell(label: str, value: str) -> str:
    escaped = html.escape(value, quote=True)
    if label == "Download link" and value.lower().startswith("https://"):
        return f"<a href=\"{escaped}\">download the capture</a>"
    return escaped
