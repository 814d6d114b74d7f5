"""History events in the DTFx wire shape the Python SDK replays (PascalCase keys, int EventType).

Events travel as plain dicts because that is exactly what the SDK's ``HistoryEvent(**he)`` consumes and
what the store persists; this module is the one place that knows their field names.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum
from typing import Any, ClassVar

Event = dict[str, Any]


class EventType(IntEnum):
    """``HistoryEventType`` of the SDK (DTFx numbering)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


COMPLETION_ID_KEY = {
    EventType.TASK_COMPLETED: "TaskScheduledId",
    EventType.TASK_FAILED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: "TaskScheduledId",
    EventType.TIMER_FIRED: "TimerId",
}


class RuntimeStatus:
    """Runtime status names and their ``OrchestrationStatus`` ints (ExecutionCompleted)."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    PENDING = "Pending"
    SUSPENDED = "Suspended"

    CODES: ClassVar[dict[str, int]] = {
        RUNNING: 0,
        COMPLETED: 1,
        CONTINUED_AS_NEW: 2,
        FAILED: 3,
        CANCELED: 4,
        TERMINATED: 5,
        PENDING: 6,
        SUSPENDED: 7,
    }
    TERMINAL = frozenset({COMPLETED, FAILED, CANCELED, TERMINATED})
    ALL = frozenset(CODES)


def utcnow() -> dt.datetime:
    """The current time, tz-aware UTC."""
    return dt.datetime.now(dt.UTC)


def format_ts(moment: dt.datetime) -> str:
    """.NET round-trip format with 7 fractional digits and ``Z`` (what DTFx writes).

    The host stamps every event it writes, so this runs a few dozen times per orchestration; ``%``
    formatting of the fields gives the text ``strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"`` gives, in a third
    of the time (years before 1000, which ``strftime`` does not pad, take the slow path)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    if moment.year < 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return _TS_FORMAT % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


_TS_FORMAT = "%04d-%02d-%02dT%02d:%02d:%02d.%06d0Z"


def format_status_ts(moment: dt.datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` used by status payloads."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> dt.datetime:
    """Parse an ISO-8601 timestamp as written by DTFx or the SDK (up to 7 fraction digits, ``Z``)."""
    if len(text) == 28 and text[19] == "." and text[27] == "Z" and text[20:27].isdigit():
        # the form format_ts writes (every episode parses one): the general path below gives the same value
        return dt.datetime.fromisoformat(text[:26]).replace(tzinfo=dt.UTC)
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if "." in value:
        head, _, rest = value.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def make_event(event_type: EventType, timestamp: dt.datetime, event_id: int = -1, **fields: Any) -> Event:
    """Build one history event with the four fields every event needs."""
    event: Event = {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_ts(timestamp),
    }
    event.update(fields)
    return event
