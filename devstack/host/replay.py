"""The replay plan of an episode: numbered tasks checked against history (new work, nondeterminism).

Pure logic, no I/O. ``build_plan`` takes the episode's tasks by sequence id (observed in the SDK by
``observe.py``, or simulated by ``simulation.py``), checks the history's scheduling events against that
numbering (nondeterminism) and lists the tasks that are new and whether any are still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devstack.host.history import Event, EventType
from devstack.host.tasks import SCHEDULING_EVENT, ActionType, Leaf, TaskKind

KIND_TEXT = {
    TaskKind.ACTIVITY: "an activity task",
    TaskKind.HTTP: "an HTTP task",
    TaskKind.SUB_ORCHESTRATION: "a sub-orchestration",
    TaskKind.TIMER: "a durable timer",
    TaskKind.ENTITY: "an entity operation",
    TaskKind.SIGNAL: "an entity signal",
}
EVENT_KIND_TEXT = {
    EventType.TASK_SCHEDULED: "an activity task",
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: "a sub-orchestration",
    EventType.TIMER_CREATED: "a durable timer",
    EventType.EVENT_SENT: "an entity operation",
}


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
    return next((a for a in actions if a.get("actionType") == ActionType.CONTINUE_AS_NEW), None)


def build_plan(
    history: list[Event], leaves: list[Leaf], can_action: dict[str, Any] | None, can_after: int | None
) -> EpisodePlan:
    """The plan for numbered ``leaves`` (from the simulation or observed in the SDK) against ``history``."""
    scheduled: dict[int, Event] = {}
    for event in history:
        if event.get("EventType") in SCHEDULING_EVENT.values() and isinstance(event.get("EventId"), int):
            scheduled[event["EventId"]] = event
    plan = EpisodePlan(
        leaves=leaves, new_leaves=[], continue_as_new=can_action, continue_as_new_after=can_after
    )
    plan.nondeterminism = _check_determinism(leaves, scheduled)
    plan.new_leaves = [leaf for leaf in leaves if leaf.id not in scheduled]
    plan.open_tasks = any(
        not leaf.done and not leaf.cancelled and leaf.kind != TaskKind.SIGNAL for leaf in leaves
    )
    plan.cancelled_timer_ids = [leaf.id for leaf in leaves if leaf.kind == TaskKind.TIMER and leaf.cancelled]
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
        same_kind = SCHEDULING_EVENT[leaf.kind] == event_kind
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
