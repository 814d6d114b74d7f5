"""The replay plan of an episode: numbered tasks checked against history (spec §1.8, §1.11).

Pure logic, no I/O. ``build_plan`` takes the episode's tasks by sequence id (observed in the SDK by
``observe.py``, or simulated by ``simulation.py``), checks the history's scheduling events against that
numbering (nondeterminism) and lists the tasks that are new and whether any are still open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devstack.host.history import Event, EventType

if TYPE_CHECKING:
    from devstack.host.simulation import RetryNode

# action types (spec §1.6)
CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY, CONTINUE_AS_NEW = 0, 1, 2, 3, 4
CREATE_TIMER, WAIT_EVENT, CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY, WHEN_ANY, WHEN_ALL = 5, 6, 7, 8, 9, 11, 12

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"

# which history scheduling event each kind of sequence id produces
KIND_EVENT = {
    "activity": EventType.TASK_SCHEDULED,
    "http": EventType.TASK_SCHEDULED,
    "suborch": EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    "timer": EventType.TIMER_CREATED,
    "entity": EventType.EVENT_SENT,
    "signal": EventType.EVENT_SENT,
}
KIND_TEXT = {
    "activity": "an activity task",
    "http": "an HTTP task",
    "suborch": "a sub-orchestration",
    "timer": "a durable timer",
    "entity": "an entity operation",
    "signal": "an entity signal",
}
EVENT_KIND_TEXT = {
    EventType.TASK_SCHEDULED: "an activity task",
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: "a sub-orchestration",
    EventType.TIMER_CREATED: "a durable timer",
    EventType.EVENT_SENT: "an entity operation",
}


@dataclass
class Leaf:
    """One sequence id: a schedulable task (activity, sub-orchestration, timer, entity call/signal)."""

    id: int
    kind: str
    action: dict[str, Any]
    state: str = "pending"  # pending | succeeded | failed
    cancelled: bool = False
    fire_at: dt.datetime | None = None
    retry: RetryNode | None = None
    retry_timer: bool = False
    attempt: int = 1

    @property
    def name(self) -> str | None:
        """Function name for activities and sub-orchestrations (as text: the SDK does not check the type)."""
        if self.kind == "http":
            return HTTP_ACTIVITY_NAME
        name = self.action.get("functionName")
        return None if name is None else str(name)

    @property
    def done(self) -> bool:
        return self.state != "pending"

    @property
    def failed(self) -> bool:
        return self.state == "failed"


@dataclass
class EpisodePlan:
    """What the host must do after an episode, derived from history + actions."""

    leaves: list[Leaf]
    new_leaves: list[Leaf]
    nondeterminism: str | None = None
    open_tasks: bool = False
    continue_as_new: dict[str, Any] | None = None
    continue_as_new_after: int | None = None
    cancelled_timer_ids: list[int] = field(default_factory=list)


def continue_as_new_action(actions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ContinueAsNew action, if the orchestrator called ``continue_as_new``."""
    return next((a for a in actions if a.get("actionType") == CONTINUE_AS_NEW), None)


def build_plan(
    history: list[Event], leaves: list[Leaf], can_action: dict[str, Any] | None, can_after: int | None
) -> EpisodePlan:
    """The plan for numbered ``leaves`` (from the simulation or observed in the SDK) against ``history``."""
    scheduled: dict[int, Event] = {}
    for event in history:
        if event.get("EventType") in KIND_EVENT.values() and isinstance(event.get("EventId"), int):
            scheduled[event["EventId"]] = event
    plan = EpisodePlan(
        leaves=leaves, new_leaves=[], continue_as_new=can_action, continue_as_new_after=can_after
    )
    plan.nondeterminism = _check_determinism(leaves, scheduled)
    plan.new_leaves = [leaf for leaf in leaves if leaf.id not in scheduled]
    plan.open_tasks = any(not leaf.done and not leaf.cancelled and leaf.kind != "signal" for leaf in leaves)
    plan.cancelled_timer_ids = [leaf.id for leaf in leaves if leaf.kind == "timer" and leaf.cancelled]
    return plan


def _check_determinism(leaves: list[Leaf], scheduled: dict[int, Event]) -> str | None:
    for task_id, event in sorted(scheduled.items()):
        event_kind = EventType(event["EventType"])
        if task_id < 0 or task_id >= len(leaves):
            return (
                f"A previous execution of this orchestration scheduled {EVENT_KIND_TEXT[event_kind]} with "
                f"sequence number {task_id} named '{event.get('Name') or ''}', but the current replay "
                "hasn't (yet?) scheduled this task. Was a change made to the orchestrator code after this "
                "instance had already started running?"
            )
        leaf = leaves[task_id]
        same_kind = KIND_EVENT[leaf.kind] == event_kind
        same_name = (
            event_kind not in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
            or (leaf.name or "").lower() == str(event.get("Name") or "").lower()
        )
        if not (same_kind and same_name):
            return (
                f"A previous execution of this orchestration scheduled {EVENT_KIND_TEXT[event_kind]} with "
                f"sequence number {task_id} named '{event.get('Name') or ''}', but the current "
                f"orchestration replay instead scheduled {KIND_TEXT[leaf.kind]} named '{leaf.name or ''}'. "
                "Was a change made to the orchestrator code after this instance had already started running?"
            )
    return None


def carried_over_events(history: list[Event], after_index: int | None) -> list[Event]:
    """EventRaised events processed after the replay reached continue_as_new (Azure Storage carryover)."""
    if after_index is None:
        return []
    return [e for e in history[after_index + 1 :] if e.get("EventType") == EventType.EVENT_RAISED]
