"""Human views (tables, records) of runs and action results, shared by the commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertcap_cli.models import ActionResult, HistoryEntry, Run, WebhookReply
from alertcap_cli.render import Column, Message, Record, Rendering, Table, View
from alertcap_cli.timeparse import age, iso
from alertcap_cli.triage_views import run_triage_views


def runs_table(runs: list[Run], now: datetime | None = None) -> Table:
    """ID, status, phase, VM and age: fits 80 columns with alertcap's 33-character ids."""
    return Table(
        columns=[Column("ID"), Column("STATUS"), Column("PHASE", flex=True, min_width=6),
                 Column("VM", flex=True, min_width=6), Column("AGE")],
        rows=[[r.id, r.display_status, r.phase, r.vm, age(r.created, now=now)] for r in runs],
        empty="No runs match.",
    )


def list_rendering(runs: list[Run]) -> Rendering:
    """`runs list`: a JSON array of run summaries, a table for people."""
    return Rendering([r.to_summary() for r in runs], [runs_table(runs)])


def _output_field(run: Run) -> list[tuple[str, Any]]:
    if run.output is None or isinstance(run.output, dict):
        return []
    return [("Output", run.output)]


def run_record(run: Run) -> Record:
    """The headline facts of one run."""
    return Record([
        ("ID", run.id),
        ("Orchestrator", run.name),
        ("Status", run.display_status),
        ("Phase", run.phase),
        ("Target", run.target),
        ("Created", iso(run.created)),
        ("Updated", iso(run.updated)),
        *_output_field(run),
    ])


HEADLINE_KEYS = frozenset({"instance_id", "instanceId", "target", "phase"})


def capture_record(run: Run) -> Record | None:
    """The capture facts (the output record, or the custom status while running): the non-empty scalars
    not already in the headline, plus the alert rule; `-o json` has everything."""
    fields: list[tuple[str, Any]] = []
    for key, value in run.capture.items():
        if key == "alert" and isinstance(value, dict) and value.get("rule"):
            fields.append(("alert_rule", value["rule"]))
        elif key not in HEADLINE_KEYS and value not in ("", None) and not isinstance(value, dict | list):
            fields.append((key, value))
    return Record(fields, title="Capture") if fields else None


def history_table(entries: list[HistoryEntry]) -> Table:
    """A timeline: seconds since the run started, event, function name, detail."""
    start = next((e.time for e in entries if e.time), None)
    rows = []
    for entry in entries:
        offset = f"+{(entry.time - start).total_seconds():.1f}s" if entry.time and start else "-"
        took = entry.duration_seconds
        detail = entry.detail or ""
        if took is not None:
            detail = f"({took:.1f}s) {detail}".strip()
        rows.append([offset, entry.event, entry.name, detail])
    return Table([Column("TIME"), Column("EVENT"), Column("NAME", flex=True, min_width=8),
                  Column("DETAIL", flex=True, min_width=10)], rows, title="History", empty="(no history)")


def show_rendering(run: Run) -> Rendering:
    """`runs show`: the detail JSON; a record, the capture facts and (with --history) the timeline."""
    views: list[View] = [run_record(run)]
    capture = capture_record(run)
    if capture:
        views.append(capture)
    views.extend(run_triage_views(run.capture))
    if run.history is not None:
        views.append(history_table(run.history))
    return Rendering(run.to_detail(), views)


def action_rendering(result: ActionResult) -> Rendering:
    """An action's result: JSON object, one sentence for people, `id status` in tsv."""
    return Rendering(result.to_dict(), [Message(result.message)])


def webhook_rendering(reply: WebhookReply) -> Rendering:
    """`alert send`: the runs the webhook started (or why it ignored the alert)."""
    views: list[View] = []
    if reply.runs:
        views.append(Table([Column("ID"), Column("RESULT"), Column("TARGET", flex=True, min_width=10)],
                           [[r.id, r.result, r.target] for r in reply.runs]))
    else:
        views.append(Message(f"The webhook answered HTTP {reply.http_status} and started no runs."))
    views.extend(Message(f"ignored: {reason}") for reason in reply.ignored)
    return Rendering(reply.to_dict(), views)
