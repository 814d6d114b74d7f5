"""Turn one replayed episode (outcome + plan) into its effects: history to append, work, timers, status.

Pure: no I/O. The engine applies the returned ``EpisodeEffects`` in one SQLite transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from devstack.host.executor import EpisodeOutcome
from devstack.host.history import Event, EventType, RuntimeStatus, format_ts, make_event
from devstack.host.loader import FunctionIndex
from devstack.host.replay import EpisodePlan, carried_over_events
from devstack.host.tasks import Leaf, TaskKind


@dataclass(frozen=True)
class ActivityWork:
    """An activity to run for task ``task_id``."""

    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class TimerWork:
    """A timer to arm."""

    timer_id: int
    fire_at: dt.datetime


@dataclass(frozen=True)
class ChildStart:
    """A sub-orchestration to create."""

    task_id: int
    instance_id: str
    name: str
    version: str | None
    input: str | None


@dataclass
class EpisodeEffects:
    """Everything one episode changes."""

    events: list[Event] = field(default_factory=list)
    activities: list[ActivityWork] = field(default_factory=list)
    timers: list[TimerWork] = field(default_factory=list)
    children: list[ChildStart] = field(default_factory=list)
    cancelled_timer_ids: list[int] = field(default_factory=list)
    status: str = RuntimeStatus.RUNNING
    output: Any = None
    has_output: bool = False
    failure: str | None = None
    continue_as_new_input: str | None = None
    carried_events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class EpisodeInput:
    """The facts about the instance the effects depend on."""

    instance_id: str
    execution_id: str
    name: str
    parent_ids: tuple[str, ...]
    default_version: str | None
    now: dt.datetime


def decide(
    info: EpisodeInput, history: list[Event], outcome: EpisodeOutcome, plan: EpisodePlan, index: FunctionIndex
) -> EpisodeEffects:
    """Effects of an episode whose full ``history`` (old + new events) the SDK replayed into ``outcome``."""
    effects = EpisodeEffects()
    if outcome.error is not None:
        return _failed(effects, info, f"Orchestrator function '{info.name}' failed: {outcome.error}")
    if plan.nondeterminism:
        return _failed(effects, info, f"Non-Deterministic workflow detected: {plan.nondeterminism}")
    problem = _unschedulable(plan.new_leaves, info, index)
    if problem:
        return _failed(effects, info, f"Orchestrator function '{info.name}' failed: {problem}")
    for leaf in plan.new_leaves:
        _schedule(effects, info, leaf)
    effects.cancelled_timer_ids = plan.cancelled_timer_ids
    if not outcome.is_done or (plan.open_tasks and plan.continue_as_new is None):
        effects.status = RuntimeStatus.RUNNING
    elif plan.continue_as_new is not None:
        effects.status = RuntimeStatus.CONTINUED_AS_NEW
        effects.continue_as_new_input = plan.continue_as_new.get("input")
        effects.carried_events = carried_over_events(history, plan.continue_as_new_after)
    else:
        effects.status = RuntimeStatus.COMPLETED
        effects.output, effects.has_output = outcome.output, True
        effects.events.append(
            make_event(
                EventType.EXECUTION_COMPLETED,
                info.now,
                OrchestrationStatus=1,
                Result=json.dumps(outcome.output),
            )
        )
    return effects


def _failed(effects: EpisodeEffects, info: EpisodeInput, message: str) -> EpisodeEffects:
    effects.status = RuntimeStatus.FAILED
    effects.failure = message
    effects.output, effects.has_output = message, True
    effects.events.append(
        make_event(
            EventType.EXECUTION_COMPLETED,
            info.now,
            OrchestrationStatus=3,
            Result=message,
            FailureDetails={"ErrorMessage": message},
        )
    )
    return effects


def _unschedulable(leaves: list[Leaf], info: EpisodeInput, index: FunctionIndex) -> str | None:
    for leaf in leaves:
        if leaf.kind in (TaskKind.ENTITY, TaskKind.SIGNAL):
            return "Durable entities are not supported by the devstack host."
        if leaf.kind == TaskKind.HTTP:
            return "call_http (durable HTTP) is not supported by the devstack host."
        if leaf.kind == TaskKind.ACTIVITY and index.activity(leaf.name or "") is None:
            known = ", ".join(f"'{a.name}'" for a in index.activities.values())
            return (
                f"The function '{leaf.name}' doesn't exist, is disabled, or is not an activity function. "
                f"Additional info: The following are the known activity functions: {known}."
            )
        if leaf.kind == TaskKind.SUB_ORCHESTRATION:
            if index.orchestrator(leaf.name or "") is None:
                known = ", ".join(f"'{o.name}'" for o in index.orchestrators.values())
                return (
                    f"The function '{leaf.name}' doesn't exist, is disabled, or is not an orchestrator "
                    f"function. Additional info: The following are the known orchestrator functions: {known}."
                )
            child_id = _child_id(info, leaf)
            if child_id.startswith("@") or child_id in (info.instance_id, *info.parent_ids):
                return f"Invalid sub-orchestration instance id '{child_id}'."
    return None


def _child_id(info: EpisodeInput, leaf: Leaf) -> str:
    """The explicit id as text (the extension's JSON binding reads a number as a string), else the default."""
    explicit = leaf.action.get("instanceId")
    return f"{info.execution_id}:{leaf.id}" if explicit in (None, "") else str(explicit)


def _schedule(effects: EpisodeEffects, info: EpisodeInput, leaf: Leaf) -> None:
    now = info.now
    if leaf.kind in (TaskKind.ACTIVITY, TaskKind.HTTP):
        name = leaf.name or ""
        effects.events.append(
            make_event(
                EventType.TASK_SCHEDULED, now, leaf.id, Name=name, Version="", Input=leaf.action.get("input")
            )
        )
        effects.activities.append(ActivityWork(leaf.id, name, leaf.action.get("input")))
    elif leaf.kind == TaskKind.SUB_ORCHESTRATION:
        child = ChildStart(
            task_id=leaf.id,
            instance_id=_child_id(info, leaf),
            name=leaf.name or "",
            version=leaf.action.get("version") or info.default_version,
            input=leaf.action.get("input"),
        )
        effects.events.append(
            make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
                now,
                leaf.id,
                Name=child.name,
                Version=child.version or "",
                InstanceId=child.instance_id,
                Input=child.input,
            )
        )
        effects.children.append(child)
    elif leaf.kind == TaskKind.TIMER:
        fire_at = leaf.fire_at or now
        effects.events.append(make_event(EventType.TIMER_CREATED, now, leaf.id, FireAt=format_ts(fire_at)))
        if not leaf.cancelled:
            effects.timers.append(TimerWork(leaf.id, fire_at))


def new_execution_id() -> str:
    """A fresh ExecutionId."""
    return uuid.uuid4().hex
