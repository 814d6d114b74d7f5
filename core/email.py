"""Render the operator email for a run, in plain text and HTML. Every value is escaped in the HTML body."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from core.incident_email import incident_rows, is_incident_link
from core.orchestration import RUN_SUCCEEDED
from core.records import RunRecord
from core.triage_model import TriageResult
from core.triage_text import TriageSection, plain_lines, size_text, triage_sections


@dataclass(frozen=True)
class EmailContent:
    """Subject and bodies of one email."""

    subject: str
    plain_text: str
    html: str


def _one_line(text: str, limit: int = 200) -> str:
    """Subjects must not carry newlines (header injection) and stay short."""
    return " ".join(str(text).split())[:limit]


def _when(value: str) -> str:
    """An ISO timestamp as operators read it (`2026-11-25 23:17:29 UTC`); anything else unchanged."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(record: RunRecord) -> str:
    """How long the capture ran, from the run's own timings ('' when unknown)."""
    try:
        start = datetime.fromisoformat(record.timings["capture_created"])
        end = datetime.fromisoformat(record.timings["capture_finished"])
    except (KeyError, TypeError, ValueError):
        return ""
    seconds = round((end - start).total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def _size(size_bytes: int | None) -> str:
    """`146.0 KiB (149,552 bytes)`; '' when unknown."""
    if size_bytes is None:
        return ""
    return f"{size_bytes} bytes" if size_bytes < 1024 else f"{size_text(size_bytes)} ({size_bytes:,} bytes)"


def _per_instance(record: RunRecord) -> bool:
    """True when the capture is a folder of per-instance files (a scale set), listed one row each (an armed
    run's files are its incident's, listed by `incident_rows`)."""
    return not record.armed and any(f.instance for f in record.files)


def _file_count(record: RunRecord) -> str:
    """` in N files` after the total size of a scale-set capture; '' otherwise."""
    return f" in {len(record.files)} files" if _per_instance(record) and record.size_bytes is not None else ""


def capture_file_rows(record: RunRecord, links: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """One ``(label, "file — size", link)`` row per instance file of a scale-set capture; [] for a VM's blob.

    The label names the instance; the link ('' when none could be made) downloads that one file.
    """
    if not _per_instance(record):
        return []
    links = links or {}
    return [(f"Instance {f.instance or '?'}", f"{f.url} ({_size(f.size_bytes)})", links.get(f.url, ""))
            for f in record.files]


def facts(record: RunRecord, link: str | None) -> list[tuple[str, str]]:
    """The label/value rows shown in both bodies."""
    alert = record.alert
    rows = [
        ("Outcome", "capture completed" if record.status == RUN_SUCCEEDED else f"failed: {record.reason}"),
        ("VM", record.target.rsplit("/", 1)[-1]),
        ("Target", record.target),
        ("Alert rule", alert.get("rule", "")),
        ("Severity", alert.get("severity", "")),
        ("Alert fired", _when(alert.get("fired_at", ""))),
        ("Alert id", alert.get("alert_id", "")),
        ("Run", record.instance_id),
    ]
    optional = [
        ("Capture", record.capture_name),
        ("Capture status", record.capture_status),
        ("Stop reason", record.stop_reason),
        ("Capture errors", ", ".join(record.capture_errors)),
        ("Stopped by alertcap (overrun)", "yes" if record.stopped_by_us else ""),
        ("Capture started", _when(record.timings.get("capture_created", ""))),
        ("Capture finished", _when(record.timings.get("capture_finished", ""))),
        ("Duration", _duration(record)),
        ("Size", _size(record.size_bytes) + _file_count(record)),
        ("Folder" if _per_instance(record) else "Blob", record.storage_path),
        ("Download link", link or ""),
        ("Extra alerts recorded", str(record.extra_alert_count) if record.extra_alert_count else ""),
    ]
    return rows + [(k, v) for k, v in optional if v]


_FONT = "font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1b1b1b"
_BANNER = {  # outcome banner: green for a capture, red for a failure
    True: "background:#dff6dd;border-left:4px solid #107c10",
    False: "background:#fde7e9;border-left:4px solid #a80000",
}


def render(record: RunRecord, link: str | None, file_links: dict[str, str] | None = None) -> EmailContent:
    """Build the email for ``record``; ``link`` is the time-limited download link (success only), and
    ``file_links`` maps each instance file's URL to its own link (a scale-set capture)."""
    ok = record.status == RUN_SUCCEEDED
    verdict = "Packet capture ready" if ok else "Packet capture FAILED"
    vm = record.target.rsplit("/", 1)[-1]
    subject = _one_line(f"[alertcap] {verdict}: {vm} ({record.alert.get('rule', '')})")
    rows = facts(record, link) + incident_rows(record, file_links or {})
    # one line per fact: a value from the alert cannot forge a line (e.g. a second "Download link:")
    files = capture_file_rows(record, file_links)
    lines = [f"{k}: {_one_line(v, 4096)}" for k, v in rows]
    sections = triage_sections(TriageResult.from_dict(record.triage))
    plain = "\n".join([verdict, "", *lines, *_files_plain(files), *triage_plain(sections), ""])
    cells = "".join(
        f"<tr><th align='left' style='padding:4px 12px 4px 0;vertical-align:top;white-space:nowrap;"
        f"color:#605e5c'>{html.escape(k)}</th><td style='padding:4px 0;word-break:break-all'>"
        f"{_cell(k, v)}</td></tr>"
        for k, v in rows
    )
    headline = html.escape(f"{verdict}: {vm}")
    outcome = html.escape(rows[0][1])
    body = (
        f"<html><body style='{_FONT}'>"
        f"<h2 style='margin:0 0 8px'>{headline}</h2>"
        f"<p style='{_BANNER[ok]};padding:8px 12px;margin:0 0 12px'>{outcome}</p>"
        f"<table cellpadding='0' cellspacing='0' style='{_FONT}'>{cells}</table>"
        f"{_files_html(files)}"
        f"{triage_html(sections)}"
        f"<p style='color:#605e5c;font-size:12px;margin-top:16px'>Sent by alertcap. The download link is "
        f"read-only, for this one file, and expires; the file stays in the storage account.</p>"
        f"</body></html>"
    )
    return EmailContent(subject, plain, body)


def _files_plain(files: list[tuple[str, str, str]]) -> list[str]:
    """The plain-text file list: one line per instance file, then its download link."""
    if not files:
        return []
    lines = ["", "Capture files (one per instance):"]
    for label, value, link in files:
        lines.append(f"{label}: {_one_line(value, 4096)}")
        if link:
            lines.append(f"{label} download link: {_one_line(link, 4096)}")
    return lines


def _files_html(files: list[tuple[str, str, str]]) -> str:
    """The HTML file list: one row per instance file with its own download button (all values escaped)."""
    if not files:
        return ""
    rows = "".join(
        f"<tr><th align='left' style='padding:4px 12px 4px 0;white-space:nowrap;color:#605e5c'>"
        f"{html.escape(label)}</th><td style='padding:4px 12px 4px 0;word-break:break-all'>"
        f"{html.escape(value)}</td><td>{_cell('Download link', link) if link else ''}</td></tr>"
        for label, value, link in files
    )
    return (f"<h3 style='margin:16px 0 4px'>Capture files (one per instance)</h3>"
            f"<table cellpadding='0' cellspacing='0' style='{_FONT}'>{rows}</table>")


def _cell(label: str, value: str) -> str:
    escaped = html.escape(value, quote=True)
    if is_incident_link(label) and value.lower().startswith("https://"):
        return f"<a href=\"{escaped}\">Download (.cap)</a>"
    if label == "Download link" and value.lower().startswith("https://"):
        return (f"<a href=\"{escaped}\" style='display:inline-block;background:#0f6cbd;color:#ffffff;"
                f"padding:6px 14px;border-radius:4px;text-decoration:none'>Download the capture (.cap)</a>")
    return escaped


# --- triage: what the capture caught ---------------------------------------------------------------------

_TH = ("text-align:left;padding:4px 10px 4px 0;color:#605e5c;border-bottom:1px solid #e1dfdd;"
       "white-space:nowrap")
_TD = "padding:3px 10px 3px 0;vertical-align:top;word-break:break-word"


def triage_plain(sections: list[TriageSection]) -> list[str]:
    """The triage sections of the plain-text body (each value on one line: nothing can forge a line)."""
    return [_one_line(line, 4096) if line.strip() else "" for line in plain_lines(sections)]


def _triage_section_html(section: TriageSection) -> str:
    parts = [f"<h3 style='margin:18px 0 6px;font-size:15px'>{html.escape(section.title)}</h3>"]
    if section.facts:
        parts.append(f"<table cellpadding='0' cellspacing='0' style='{_FONT}'>" + "".join(
            f"<tr><th style='{_TH};border:0'>{html.escape(k)}</th>"
            f"<td style='{_TD}'>{html.escape(v)}</td></tr>" for k, v in section.facts) + "</table>")
    if section.rows:
        head = "".join(f"<th style='{_TH}'>{html.escape(h)}</th>" for h in section.header)
        body = "".join("<tr>" + "".join(f"<td style='{_TD}'>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in section.rows)
        parts.append(f"<table cellpadding='0' cellspacing='0' style='{_FONT}'><tr>{head}</tr>{body}</table>")
    return "".join(parts)


def triage_html(sections: list[TriageSection]) -> str:
    """The triage sections of the HTML body, every value escaped."""
    return "".join(_triage_section_html(section) for section in sections)
