"""Drive an orchestrator at the replay boundary, as the Durable extension does.

Each episode builds the history JSON (OrchestratorStarted, ExecutionStarted, TaskScheduled, TaskCompleted,
TaskFailed, TimerCreated, TimerFired, EventRaised, OrchestratorCompleted) and calls
``Orchestrator(fn).handle(DurableOrchestrationContext.from_json(...))``. The pending tasks of that replay
(``context.open_tasks``, ids as the SDK numbered them) say what to append next: activities complete at the
current time with the answers of a scripted ``responder``; otherwise the clock jumps to the earliest timer.
Retry timers of ``call_activity_with_retry`` fire after the first retry interval, as DTFx schedules them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions.constants import DATETIME_STRING_FORMAT
from azure.durable_functions.models import DurableOrchestrationContext
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as T
from azure.durable_functions.orchestrator import Orchestrator

Responder = Callable[[str, dict[str, Any], int], Any]


class ActivityFailure(Exception):
    """Raise from a responder to make the activity fail (TaskFailed), like an exception in the worker."""


@dataclass
class Pending:
    """A scheduled, not yet completed task."""

    kind: str  # "activity" | "timer"
    name: str = ""
    payload: Any = None
    fire_at: datetime | None = None


@dataclass
class ReplayResult:
    """The final state of a run."""

    state: dict[str, Any]
    history: list[dict[str, Any]]
    calls: list[tuple[str, dict[str, Any]]]
    custom_statuses: list[Any]
    episodes: int
    now: datetime

    @property
    def output(self) -> Any:
        """The orchestration output."""
        return self.state.get("output")

    def count(self, event_type: T) -> int:
        """How many history events of one type the run produced."""
        return sum(1 for e in self.history if e["EventType"] == int(event_type))

    def called(self, name: str) -> list[dict[str, Any]]:
        """The payloads of every call of activity ``name`` (retries included)."""
        return [p for n, p in self.calls if n == name]


@dataclass
class ReplayHarness:
    """Runs ``fn`` with ``input`` to completion against a scripted ``responder``."""

    fn: Callable[..., Any]
    input: Any
    responder: Responder
    instance_id: str = "alertcap-000000000000000000000000"
    start: datetime = datetime(2026, 11, 25, 22, 0, 0, tzinfo=UTC)
    events: list[tuple[datetime, str, Any]] = field(default_factory=list)
    max_episodes: int = 500

    def __post_init__(self) -> None:
        self.now = self.start
        self.history: list[dict[str, Any]] = []
        self.pending: dict[int | str, Pending] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.attempts: dict[str, int] = {}
        self.custom_statuses: list[Any] = []
        self._event_queue = sorted(self.events, key=lambda e: e[0])

    def _add(self, event_type: T, event_id: int = -1, **fields: Any) -> None:
        self.history.append({"EventType": int(event_type), "EventId": event_id, "IsPlayed": False,
                             "Timestamp": self.now.strftime(DATETIME_STRING_FORMAT), **fields})

    def _replay(self) -> tuple[dict[str, Any], DurableOrchestrationContext]:
        body = {"history": self.history, "instanceId": self.instance_id, "isReplaying": False,
                "parentInstanceId": None, "input": json.dumps(self.input), "upperSchemaVersion": 1}
        context = DurableOrchestrationContext.from_json(json.dumps(body))
        state = json.loads(Orchestrator(self.fn).handle(context))
        return state, context

    def run(self) -> ReplayResult:
        """Replay episodes until the orchestration completes or fails."""
        self._add(T.ORCHESTRATOR_STARTED)
        self._add(T.EXECUTION_STARTED, Name="orchestrator", Input=json.dumps(self.input), Version=None)
        for episode in range(1, self.max_episodes + 1):
            state, context = self._replay()
            self.custom_statuses.append(state.get("customStatus"))
            if state.get("isDone") or state.get("error"):
                return ReplayResult(state, self.history, self.calls, self.custom_statuses, episode, self.now)
            self._schedule_new(context)
            self._add(T.ORCHESTRATOR_COMPLETED)
            self._advance()
        raise AssertionError(f"no completion after {self.max_episodes} episodes")

    def _schedule_new(self, context: DurableOrchestrationContext) -> None:
        for task_id, task in list(context.open_tasks.items()):
            tasks = task if isinstance(task, list) else [task]
            if isinstance(task_id, str):
                continue  # external-event waiters: satisfied by EventRaised, not scheduled
            if task_id in self.pending or self._completed(task_id):
                continue
            self._schedule(task_id, tasks[0])

    def _completed(self, task_id: int) -> bool:
        return any(e.get("TaskScheduledId") == task_id or e.get("TimerId") == task_id for e in self.history)

    def _schedule(self, task_id: int, task: Any) -> None:
        action = task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
        kind = type(action).__name__
        if kind == "NoOpAction" and action.metadata == "rescheduled task":
            action = task.parent.actions[0] if isinstance(task.parent.actions, list) else task.parent.actions
            kind = type(action).__name__
        if kind in ("CallActivityAction", "CallActivityWithRetryAction"):
            payload = json.loads(action.input_) if isinstance(action.input_, str) else action.input_
            self._add(T.TASK_SCHEDULED, task_id, Name=action.function_name, Input=action.input_)
            self.pending[task_id] = Pending("activity", action.function_name, payload)
        elif kind == "CreateTimerAction":
            fire_at = action.fire_at
            self._add(T.TIMER_CREATED, task_id, FireAt=fire_at.strftime(DATETIME_STRING_FORMAT))
            self.pending[task_id] = Pending("timer", fire_at=fire_at)
        elif kind == "NoOpAction" and action.metadata == "-WithRetry timer":
            interval = task.parent.retry_options.first_retry_interval_in_milliseconds
            fire_at = self.now + timedelta(milliseconds=interval)
            self._add(T.TIMER_CREATED, task_id, FireAt=fire_at.strftime(DATETIME_STRING_FORMAT))
            self.pending[task_id] = Pending("timer", fire_at=fire_at)
        else:
            raise AssertionError(f"unexpected pending task {task_id}: {kind}")

    def _advance(self) -> None:
        activities = {i: p for i, p in self.pending.items() if p.kind == "activity"}
        timers = {i: p for i, p in self.pending.items() if p.kind == "timer"}
        next_timer = min((p.fire_at for p in timers.values()), default=None)
        event_due = self._event_queue[0][0] if self._event_queue else None
        if event_due and not activities and (next_timer is None or event_due <= next_timer):
            when, name, data = self._event_queue.pop(0)
            self.now = max(self.now, when)
            self._add(T.ORCHESTRATOR_STARTED)
            # raise_event double-encodes its payload (azure-functions-durable-python#295)
            self._add(T.EVENT_RAISED, Name=name, Input=json.dumps(json.dumps(data)))
            return
        if activities:
            self.now += timedelta(milliseconds=20)
            self._add(T.ORCHESTRATOR_STARTED)
            for task_id, p in activities.items():
                self._complete_activity(task_id, p)
            return
        if next_timer is None:
            raise AssertionError("orchestration is stuck: nothing pending")
        self.now = max(self.now, next_timer)
        self._add(T.ORCHESTRATOR_STARTED)
        for task_id, p in list(timers.items()):
            if p.fire_at <= self.now:
                self._add(T.TIMER_FIRED, TimerId=task_id, FireAt=p.fire_at.strftime(DATETIME_STRING_FORMAT))
                del self.pending[task_id]

    def _complete_activity(self, task_id: int, p: Pending) -> None:
        self.calls.append((p.name, p.payload))
        key = p.name
        self.attempts[key] = self.attempts.get(key, 0) + 1
        del self.pending[task_id]
        try:
            result = self.responder(p.name, p.payload, self.attempts[key])
        except ActivityFailure as exc:
            reason = f"Activity function '{p.name}' failed: {exc}"
            self._add(T.TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details="ActivityFailure")
            return
        self._add(T.TASK_COMPLETED, TaskScheduledId=task_id, Result=json.dumps(result))
