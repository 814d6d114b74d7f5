"""Typed views of what the Durable management API returns, and their stable JSON forms."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alertcap_cli.timeparse import iso, parse_api_time
from core.orchestration import (
    NOTIFICATION_FAILED,
    NOTIFICATION_FAILED_SUFFIX,
    NOTIFICATION_SENT,
    RUN_FAILED,
    RUNTIME_STATUSES,
    TERMINAL_RUNTIME_STATUSES,
)

ARM_TARGET = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.compute/"
    r"(virtualmachines|virtualmachinescalesets)/[^/]+$",
    re.IGNORECASE,
)


def normalise_status(text: str) -> str:
    """Return the canonical runtime status name for `text` (case-insensitive); ValueError if unknown."""
    for status in RUNTIME_STATUSES:
        if status.lower() == text.strip().lower():
            return status
    raise ValueError(text)


def decode_jsonish(value: Any) -> Any:
    """Python-started instances show their input as a JSON *string*; decode it when it holds an object."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def find_target(*values: Any, depth: int = 4) -> str | None:
    """The first VM or scale-set ARM id found anywhere in `values` (dicts, lists, strings)."""
    for value in values:
        found = _search_target(value, depth)
        if found:
            return found
    return None


def _search_target(value: Any, depth: int) -> str | None:
    if isinstance(value, str):
        return value if ARM_TARGET.match(value) else None
    if depth <= 0:
        return None
    children: list[Any] = []
    if isinstance(value, dict):
        preferred = [k for k in value if "target" in k.lower()]
        children = [value[k] for k in preferred] + [v for k, v in value.items() if k not in preferred]
    elif isinstance(value, list):
        children = value
    for child in children:
        found = _search_target(child, depth - 1)
        if found:
            return found
    return None


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a run's history timeline."""

    time: datetime | None
    event: str
    name: str | None
    detail: str | None
    scheduled: datetime | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> HistoryEntry:
        """Build an entry from one `historyEvents` item of the status payload."""
        event = str(raw.get("EventType", "?"))
        name = raw.get("FunctionName") or raw.get("Name")
        detail = _history_detail(event, raw)
        return cls(
            time=parse_api_time(raw.get("Timestamp")),
            event=event,
            name=str(name) if name else None,
            detail=detail,
            scheduled=parse_api_time(raw.get("ScheduledTime")),
        )

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from scheduling to completion, for activities and sub-orchestrations."""
        if self.time and self.scheduled:
            return max(0.0, (self.time - self.scheduled).total_seconds())
        return None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (see docs/cli.md)."""
        return {
            "time": iso(self.time),
            "event": self.event,
            "name": self.name,
            "detail": self.detail,
            "durationSeconds": self.duration_seconds,
        }


def _history_detail(event: str, raw: dict[str, Any]) -> str | None:
    if event == "TimerCreated":
        return f"fires at {raw.get('FireAt')}" if raw.get("FireAt") else None
    if event in ("TaskFailed", "SubOrchestrationInstanceFailed"):
        return _short(raw.get("Reason") or raw.get("Details"))
    if event in ("ExecutionTerminated", "ExecutionSuspended", "ExecutionResumed"):
        return _short(raw.get("Input") or raw.get("Reason"))
    if event == "ExecutionCompleted":
        status = raw.get("OrchestrationStatus")
        if isinstance(status, int) and 0 <= status < len(RUNTIME_STATUSES):  # ExecutionCompleted's int code
            status = RUNTIME_STATUSES[status]
        result = raw.get("Result") or raw.get("FailureDetails")
        return _short(f"{status}: {_text(result)}" if status and result else status or result)
    if event == "GenericEvent":
        return _short(raw.get("Data"))
    if "Result" in raw:
        return _short(raw.get("Result"))
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _short(value: Any, limit: int = 200) -> str | None:
    if value is None or value == "":
        return None
    text = " ".join(_text(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Run:
    """One orchestration instance (a capture run) as the management API reports it."""

    id: str
    name: str | None
    status: str
    created: datetime | None
    updated: datetime | None
    custom_status: Any = None
    input: Any = None
    output: Any = None
    history: list[HistoryEntry] | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Run:
        """Build a run from a status payload (`GET instances/{id}` or one item of the list)."""
        events = raw.get("historyEvents")
        return cls(
            id=str(raw.get("instanceId", "")),
            name=raw.get("name"),
            status=str(raw.get("runtimeStatus", "Unknown")),
            created=parse_api_time(raw.get("createdTime")),
            updated=parse_api_time(raw.get("lastUpdatedTime")),
            custom_status=decode_jsonish(raw.get("customStatus")),
            input=decode_jsonish(raw.get("input")),
            output=decode_jsonish(raw.get("output")),
            history=[HistoryEntry.from_api(e) for e in events] if isinstance(events, list) else None,
        )

    @property
    def done(self) -> bool:
        """True once the run is in a terminal state."""
        return self.status in TERMINAL_RUNTIME_STATUSES

    @property
    def failed_outcome(self) -> str | None:
        """Why the capture failed when the orchestration *completed* with a failed run record, else None.

        The product ends a run whose Azure calls exhausted their retries by emailing the operators and
        completing with `{"status": "failed", "reason": ...}`; Durable's own rewind only applies to Failed.
        """
        record = self.output if isinstance(self.output, dict) else {}
        if self.status == "Completed" and str(record.get("status", "")).startswith(RUN_FAILED):
            return str(record.get("reason") or "the capture failed")
        return None

    @property
    def notification(self) -> str | None:
        """``sent`` or ``failed`` once the product tried to email the operators (output or custom status)."""
        for source in (self.output, self.custom_status):
            settled = (NOTIFICATION_SENT, NOTIFICATION_FAILED)
            if isinstance(source, dict) and source.get("notification") in settled:
                return str(source["notification"])
        return None

    @property
    def notification_failed(self) -> bool:
        """True when the run ended without its operator email (ACS kept failing past the retry window)."""
        return self.notification == NOTIFICATION_FAILED

    @property
    def display_status(self) -> str:
        """The runtime status, with ", notification failed" when no email went out."""
        return self.status + NOTIFICATION_FAILED_SUFFIX if self.notification_failed else self.status

    @property
    def phase(self) -> str | None:
        """The product's phase from the custom status `{"phase": ...}`."""
        if isinstance(self.custom_status, dict) and self.custom_status.get("phase"):
            return str(self.custom_status["phase"])
        return None

    @property
    def target(self) -> str | None:
        """The VM or scale-set ARM id this run captures on, wherever the app put it."""
        return find_target(self.input, self.output, self.custom_status)

    @property
    def vm(self) -> str | None:
        """The last segment of the target id (the VM or scale-set name)."""
        return self.target.rsplit("/", 1)[-1] if self.target else None

    @property
    def capture(self) -> dict[str, Any]:
        """Capture facts: the output record when it is a dict, else the custom status minus the phase."""
        source = self.output if isinstance(self.output, dict) else self.custom_status
        if not isinstance(source, dict):
            return {}
        return {k: v for k, v in source.items() if k != "phase"}

    def to_summary(self) -> dict[str, Any]:
        """The stable JSON form of a list item (see docs/cli.md)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "notification": self.notification,
            "phase": self.phase,
            "target": self.target,
            "vm": self.vm,
            "createdTime": iso(self.created),
            "lastUpdatedTime": iso(self.updated),
        }

    def to_detail(self) -> dict[str, Any]:
        """The stable JSON form of `runs show` (a summary plus status, input, output and history)."""
        detail = self.to_summary()
        detail.update(
            customStatus=self.custom_status,
            input=self.input,
            output=self.output,
            history=[h.to_dict() for h in self.history] if self.history is not None else None,
        )
        return detail


@dataclass(frozen=True)
class ActionResult:
    """What an action command (terminate, suspend, resume, rewind, purge) did."""

    id: str
    action: str
    status: str | None
    message: str
    reason: str | None = None
    deleted: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (see docs/cli.md)."""
        return {
            "id": self.id,
            "action": self.action,
            "status": self.status,
            "reason": self.reason,
            "deleted": self.deleted,
            "message": self.message,
        }


@dataclass(frozen=True)
class StartedRun:
    """One run the alert webhook reported (started, or an existing run it deduplicated to)."""

    id: str
    target: str | None
    result: str | None
    status_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (see docs/cli.md)."""
        return {"id": self.id, "target": self.target, "result": self.result,
                "statusQueryGetUri": self.status_url}


@dataclass(frozen=True)
class WebhookReply:
    """The webhook's answer to one alert payload."""

    http_status: int
    runs: list[StartedRun] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    body: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (see docs/cli.md)."""
        return {
            "httpStatus": self.http_status,
            "runs": [r.to_dict() for r in self.runs],
            "ignored": self.ignored,
            "response": self.body,
        }
