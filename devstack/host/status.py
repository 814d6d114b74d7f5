"""Status payloads of the management API: instances and history, rendered as the extension does."""

from __future__ import annotations

import json
from typing import Any

from devstack.host.history import COMPLETION_ID_KEY, Event, EventType, format_status_ts, parse_ts
from devstack.host.store import Instance

_FOLDED = {EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED}
_HIDDEN = {EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED}


def _json_or_none(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _event_name(kind: EventType) -> str:
    return "".join(part.capitalize() for part in kind.name.split("_"))


def status_payload(
    inst: Instance,
    show_input: bool = True,
    history: list[Event] | None = None,
    show_history_output: bool = False,
) -> dict[str, Any]:
    """The status JSON of one instance (``historyEvents`` only when ``history`` is given)."""
    payload: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.instance_id,
        "runtimeStatus": inst.status,
        "input": _json_or_none(inst.input) if show_input else None,
        "customStatus": _json_or_none(inst.custom_status),
        "output": _json_or_none(inst.output),
        "createdTime": format_status_ts(parse_ts(inst.created_time)),
        "lastUpdatedTime": format_status_ts(parse_ts(inst.last_updated_time)),
    }
    if history is not None:
        payload["historyEvents"] = render_history(history, show_input, show_history_output)
    return payload


def render_history(history: list[Event], show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """History as the extension shows it: scheduling rows folded into their completions, names as strings."""
    scheduled = {e["EventId"]: e for e in history if e["EventType"] in _FOLDED}
    completed_ids = {
        e.get(COMPLETION_ID_KEY[e["EventType"]])
        for e in history
        if e["EventType"] in COMPLETION_ID_KEY and e["EventType"] != EventType.TIMER_FIRED
    }
    rows = []
    for event in history:
        kind = EventType(event["EventType"])
        if kind in _HIDDEN or (kind in _FOLDED and event["EventId"] in completed_ids):
            continue
        row = {k: v for k, v in event.items() if k not in ("EventId", "IsPlayed", "EventType")}
        row = {"EventType": _event_name(kind), **row}
        if kind == EventType.EXECUTION_STARTED:
            row["FunctionName"] = row.pop("Name", None)
        if kind in COMPLETION_ID_KEY and kind != EventType.TIMER_FIRED:
            source = scheduled.get(event.get("TaskScheduledId"))
            if source is not None:
                row["FunctionName"] = source.get("Name")
                row["ScheduledTime"] = source.get("Timestamp")
                row["Input"] = source.get("Input")
        if kind == EventType.TIMER_FIRED:
            row.pop("TimerId", None)
        if "Result" in row:
            if show_output:
                row["Result"] = _json_or_none(row["Result"])
            else:
                row.pop("Result")
        if not show_input:
            row.pop("Input", None)
        rows.append(row)
    return rows
