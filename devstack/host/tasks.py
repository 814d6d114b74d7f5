"""The task model of an episode: the SDK's action kinds and the tasks an orchestrator yields.

Pure data, no I/O. ``observe.py`` (numbering seen in the SDK) and ``simulation.py`` (numbering simulated
from the action list) both describe an episode's tasks with these classes; ``replay.py`` checks them
against history.
Every task derives from ``Task``, which answers ``done``/``failed`` from its ``state``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType

from devstack.host.history import EventType

__all__ = [
    "ACTION_TASK_KIND",
    "HTTP_ACTIVITY_NAME",
    "SCHEDULING_EVENT",
    "ActionType",
    "Compound",
    "Leaf",
    "RetryNode",
    "Task",
    "TaskKind",
    "TaskState",
    "Waiter",
]

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"


class TaskState(StrEnum):
    """Where a task stands after the replayed history."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TaskKind(StrEnum):
    """What a sequence id was handed out for."""

    ACTIVITY = "activity"
    HTTP = "http"
    SUB_ORCHESTRATION = "suborch"
    TIMER = "timer"
    ENTITY = "entity"
    SIGNAL = "signal"


# the task kind of each action that takes a sequence id (a retry action's attempts are of its inner kind)
ACTION_TASK_KIND: dict[int, TaskKind] = {
    ActionType.CALL_ACTIVITY: TaskKind.ACTIVITY,
    ActionType.CALL_ACTIVITY_WITH_RETRY: TaskKind.ACTIVITY,
    ActionType.CALL_SUB_ORCHESTRATOR: TaskKind.SUB_ORCHESTRATION,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY: TaskKind.SUB_ORCHESTRATION,
    ActionType.CREATE_TIMER: TaskKind.TIMER,
    ActionType.CALL_ENTITY: TaskKind.ENTITY,
    ActionType.CALL_HTTP: TaskKind.HTTP,
    ActionType.SIGNAL_ENTITY: TaskKind.SIGNAL,
}

# the history event that records the scheduling of each kind of task
SCHEDULING_EVENT: dict[TaskKind, EventType] = {
    TaskKind.ACTIVITY: EventType.TASK_SCHEDULED,
    TaskKind.HTTP: EventType.TASK_SCHEDULED,
    TaskKind.SUB_ORCHESTRATION: EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    TaskKind.TIMER: EventType.TIMER_CREATED,
    TaskKind.ENTITY: EventType.EVENT_SENT,
    TaskKind.SIGNAL: EventType.EVENT_SENT,
}


class Task:
    """Anything an orchestrator can wait on; subclasses hold or compute ``state``."""

    state: TaskState

    @property
    def done(self) -> bool:
        """Succeeded or failed."""
        return self.state != TaskState.PENDING

    @property
    def failed(self) -> bool:
        """Failed (a failed child of ``task_all`` fails the whole)."""
        return self.state == TaskState.FAILED


@dataclass
class RetryNode(Task):
    """A ``*_with_retry`` task: attempts and retry timers get fresh ids as failures are replayed."""

    action: dict[str, Any]
    max_attempts: int
    first_interval_ms: int
    backoff: float
    max_interval_ms: int
    attempts: int = 1
    state: TaskState = TaskState.PENDING

    def delay(self, attempt: int) -> dt.timedelta:
        """DTFx RetryInterceptor delay after failed attempt ``attempt`` (0 s after the last one)."""
        if attempt >= self.max_attempts:
            return dt.timedelta(0)
        millis = min(self.first_interval_ms * self.backoff ** (attempt - 1), self.max_interval_ms)
        return dt.timedelta(milliseconds=millis)


@dataclass
class Leaf(Task):
    """One sequence id: a schedulable task (activity, sub-orchestration, timer, entity call/signal)."""

    id: int
    kind: TaskKind
    action: dict[str, Any]
    state: TaskState = TaskState.PENDING
    cancelled: bool = False
    fire_at: dt.datetime | None = None
    retry: RetryNode | None = None
    retry_timer: bool = False
    attempt: int = 1

    @property
    def name(self) -> str | None:
        """Function name for activities and sub-orchestrations (as text: the SDK does not check the type)."""
        if self.kind == TaskKind.HTTP:
            return HTTP_ACTIVITY_NAME
        name = self.action.get("functionName")
        return None if name is None else str(name)


@dataclass
class Waiter(Task):
    """A ``wait_for_external_event`` task (keyed by name, no sequence id); it never fails."""

    name: str
    state: TaskState = TaskState.PENDING


@dataclass
class Compound(Task):
    """``task_all`` (WhenAll) or ``task_any`` (WhenAny): its state follows from its children's."""

    any_of: bool
    children: list[Task]

    @property  # type: ignore[override]
    def state(self) -> TaskState:
        """Any-of: done when one child is done, never failed. All-of: failed as soon as one child failed,
        else done when all are."""
        if self.any_of:
            return TaskState.SUCCEEDED if any(c.done for c in self.children) else TaskState.PENDING
        if any(c.failed for c in self.children):
            return TaskState.FAILED
        return TaskState.SUCCEEDED if all(c.done for c in self.children) else TaskState.PENDING
