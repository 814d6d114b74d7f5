"""Task numbering by simulation: the SDK's sequence ids derived from history + actions (retries included).

Pure logic, no I/O. The host observes the SDK's own numbering for every ``Orchestrator.create`` handle
(``observe.py``); this simulation numbers the tasks of orchestrator functions it cannot observe (a plain
function registered as a generic ``orchestrationTrigger``). Given the history of one execution (as the SDK
just replayed it) and the flat action list the SDK returned, ``plan_episode`` numbers every task as the
SDK's counter does and hands the numbering to ``replay.build_plan``. Known limit, shared with the extension
(https://github.com/Azure/azure-functions-durable-python/issues/603): a task re-yielded in a later
``task_any``/``task_all`` is absent from that compound action.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from devstack.host.history import Event, EventType, parse_ts
from devstack.host.replay import EpisodePlan, build_plan
from devstack.host.tasks import (
    ACTION_TASK_KIND,
    ActionType,
    Compound,
    Leaf,
    RetryNode,
    Task,
    TaskKind,
    TaskState,
    Waiter,
)

MAX_RETRY_INTERVAL_MS = 6 * 24 * 3600 * 1000
# actions that are one task with one sequence id
_SINGLE_TASK_ACTIONS = (
    ActionType.CALL_ACTIVITY,
    ActionType.CALL_HTTP,
    ActionType.CALL_SUB_ORCHESTRATOR,
    ActionType.CALL_ENTITY,
)


class _Simulation:
    def __init__(self, actions: list[dict[str, Any]]):
        self.actions = actions
        self.k = 0
        self.cur: Task | None = None
        self.leaves: list[Leaf] = []
        self.waiters: dict[str, list[Waiter]] = {}
        self.buffered: set[str] = set()
        self.now: dt.datetime | None = None
        self.can_action: dict[str, Any] | None = None
        self.can_after: int | None = None
        self.event_index = -1

    def alloc(self, kind: TaskKind, action: dict[str, Any], **extra: Any) -> Leaf:
        leaf = Leaf(id=len(self.leaves), kind=kind, action=action, **extra)
        self.leaves.append(leaf)
        return leaf

    def build(self, action: dict[str, Any]) -> Task:
        kind = action.get("actionType")
        if kind in _SINGLE_TASK_ACTIONS:
            return self.alloc(ACTION_TASK_KIND[kind], action)  # type: ignore[index]  # kind is one of them
        if kind == ActionType.CREATE_TIMER:
            return self.alloc(
                TaskKind.TIMER,
                action,
                cancelled=bool(action.get("isCanceled")),
                fire_at=parse_ts(action["fireAt"]),
            )
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            waiter = Waiter(name=action.get("externalEventName", ""))
            if waiter.name in self.buffered:
                waiter.state = TaskState.SUCCEEDED
            else:
                self.waiters.setdefault(waiter.name, []).append(waiter)
            return waiter
        if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            return self._build_retry(action)
        if kind in (ActionType.WHEN_ANY, ActionType.WHEN_ALL):
            children = [self.build(child) for child in action.get("compoundActions", [])]
            return Compound(any_of=kind == ActionType.WHEN_ANY, children=children)
        raise ValueError(f"unsupported action type {kind!r}")

    def _build_retry(self, action: dict[str, Any]) -> RetryNode:
        options = action.get("retryOptions") or {}
        node = RetryNode(
            action=action,
            max_attempts=max(1, int(options.get("maxNumberOfAttempts", 1))),
            first_interval_ms=int(options.get("firstRetryIntervalInMilliseconds", 0)),
            backoff=float(options.get("backoffCoefficient", 1) or 1),
            max_interval_ms=int(options.get("maxRetryIntervalInMilliseconds", MAX_RETRY_INTERVAL_MS)),
        )
        self._new_attempt(node)
        return node

    def _new_attempt(self, node: RetryNode) -> None:
        self.alloc(
            ACTION_TASK_KIND[node.action["actionType"]], node.action, retry=node, attempt=node.attempts
        )

    def advance(self) -> None:
        while self.k < len(self.actions):
            action = self.actions[self.k]
            self.k += 1
            kind = action.get("actionType")
            if kind == ActionType.SIGNAL_ENTITY:
                self.alloc(TaskKind.SIGNAL, action)
                continue
            if kind == ActionType.CONTINUE_AS_NEW:
                self.can_action, self.can_after = action, self.event_index
                continue
            self.cur = self.build(action)
            if not self.cur.done:
                return
        self.cur = None

    def settle(self) -> None:
        while self.cur is not None and self.cur.done:
            self.advance()

    def leaf(self, task_id: Any) -> Leaf | None:
        if isinstance(task_id, int) and 0 <= task_id < len(self.leaves):
            return self.leaves[task_id]
        return None

    def apply(self, event: Event) -> None:
        kind = event.get("EventType")
        if kind == EventType.ORCHESTRATOR_STARTED:
            moment = parse_ts(event["Timestamp"])
            self.now = moment if self.now is None else max(self.now, moment)
        elif kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
            self._succeed(self.leaf(event.get("TaskScheduledId")))
        elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            self._fail(self.leaf(event.get("TaskScheduledId")))
        elif kind == EventType.TIMER_FIRED:
            self._fire(self.leaf(event.get("TimerId")))
        elif kind == EventType.EVENT_RAISED:
            self._raise(event.get("Name", ""))

    def _succeed(self, leaf: Leaf | None) -> None:
        if leaf is None or leaf.done:
            return
        leaf.state = TaskState.SUCCEEDED
        if leaf.retry is not None and not leaf.retry.done:
            leaf.retry.state = TaskState.SUCCEEDED

    def _fail(self, leaf: Leaf | None) -> None:
        if leaf is None or leaf.done:
            return
        leaf.state = TaskState.FAILED
        node = leaf.retry
        if node is not None and not node.done:
            now = self.now or dt.datetime.now(dt.UTC)
            self.alloc(
                TaskKind.TIMER,
                {"actionType": ActionType.CREATE_TIMER},
                retry=node,
                retry_timer=True,
                fire_at=now + node.delay(node.attempts),
            )

    def _fire(self, leaf: Leaf | None) -> None:
        if leaf is None or leaf.done:
            return
        leaf.state = TaskState.SUCCEEDED
        node = leaf.retry
        if leaf.retry_timer and node is not None and not node.done:
            if node.attempts >= node.max_attempts:
                node.state = TaskState.FAILED
            else:
                node.attempts += 1
                self._new_attempt(node)

    def _raise(self, name: str) -> None:
        pending = self.waiters.get(name)
        if pending:
            pending.pop().state = TaskState.SUCCEEDED
        else:
            self.buffered.add(name)


def plan_episode(history: list[Event], actions: list[dict[str, Any]]) -> EpisodePlan:
    """Number the SDK's tasks over ``history`` + ``actions``; find new tasks and nondeterminism."""
    sim = _Simulation(actions)
    started = False
    for index, event in enumerate(history):
        sim.event_index = index
        if event.get("EventType") == EventType.EXECUTION_STARTED and not started:
            started = True
            sim.advance()
            continue
        sim.apply(event)
        sim.settle()
    # Re-yielded tasks are absent from compound actions, so the simulation can stall where the SDK moved on
    # (the known limit above); number whatever actions are left rather than hang the instance.
    while sim.k < len(sim.actions):
        sim.cur = None
        sim.advance()
        sim.settle()
    return build_plan(history, sim.leaves, sim.can_action, sim.can_after)
