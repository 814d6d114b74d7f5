"""The email's section for an armed target's incident: its harvested files and how much they cover."""

from __future__ import annotations

from core.records import RunRecord


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"


def incident_rows(record: RunRecord, links: dict[str, str]) -> list[tuple[str, str]]:
    """Rows for the facts table of an armed run: the evidence window, then one row per incident file (its
    read-only link, or its blob URL when no link could be made)."""
    if not record.armed or not record.files:
        return []
    rows = [("Evidence", f"{len(record.files)} file(s) from the continuous capture, "
                         f"covering {_span(record.incident_before_seconds)} before and "
                         f"{_span(record.incident_after_seconds)} after the alert")]
    for index, item in enumerate(record.files, 1):
        label = f"Incident file {index}" + (f" ({item.instance})" if item.instance else "")
        link = links.get(item.url)
        if link:
            rows.append((label, link))
        else:  # no link could be signed: name the blob (operators with storage access can still read it)
            rows.append((f"{label} (blob)", item.url))
    return rows


def is_incident_link(label: str) -> bool:
    """True for the labels whose values are incident download links."""
    return label.startswith("Incident file ") and not label.endswith("(blob)")
