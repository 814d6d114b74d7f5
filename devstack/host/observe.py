"""Run an episode through the SDK's own executor and record which task got which sequence id.

``Orchestrator.create``'s handle is three lines: build the context from JSON, attach the declared input type,
run ``Orchestrator(fn).handle(ctx)``. Doing the same here lets the host watch the two places the SDK
numbers tasks (``_add_to_open_tasks`` and ``_record_fire_and_forget_action``), so the ids are the SDK's own,
also where the action list cannot tell: a task re-yielded in a later ``task_any``/``task_all`` is absent
from that compound action (the limit of ``simulation.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.durable_functions.models.actions.ContinueAsNewAction import ContinueAsNewAction
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.Task import AtomicTask, TimerTask
from azure.durable_functions.models.Task import TaskState as SdkTaskState
from azure.durable_functions.orchestrator import Orchestrator

from devstack.host import sdk_speedups
from devstack.host.executor import EpisodeOutcome, decode_state, outcome_from_exception
from devstack.host.history import parse_ts
from devstack.host.tasks import ACTION_TASK_KIND, ActionType, Leaf, TaskKind, TaskState

_STATES = {
    SdkTaskState.RUNNING: TaskState.PENDING,
    SdkTaskState.SUCCEEDED: TaskState.SUCCEEDED,
    SdkTaskState.FAILED: TaskState.FAILED,
}

sdk_speedups.install()


@dataclass
class ObservedEpisode:
    """The outcome plus every sequence id the SDK handed out in this replay."""

    outcome: EpisodeOutcome
    leaves: list[Leaf] = field(default_factory=list)
    continue_as_new_after: int | None = None


def can_observe(handle: Callable[..., Any]) -> bool:
    """True for handles made by ``Orchestrator.create`` (every ``@orchestration_trigger``)."""
    return callable(getattr(handle, "orchestrator_function", None))


class _Recorder:
    """Hooks one context/executor pair; never raises into the SDK (errors are kept for later)."""

    def __init__(self, ctx: DurableOrchestrationContext, executor: Any):
        self.ctx = ctx
        self.tasks: dict[int, tuple[AtomicTask, Leaf]] = {}
        self.fire_and_forget: dict[int, str] = {}
        self.event_index = -1
        self.can_after: int | None = None
        self.error: Exception | None = None
        add, process, can = ctx._add_to_open_tasks, executor.process_event, ctx.continue_as_new
        fire_and_forget = ctx._record_fire_and_forget_action

        def recording_add(task: Any) -> None:
            add(task)
            if (
                isinstance(task, AtomicTask)
                and isinstance(task.id, int)
                and task.id >= 0
                and task.id not in self.tasks
            ):
                self._record(task)

        def recording_fire_and_forget(action: Any) -> None:
            kind = "continue_as_new" if isinstance(action, ContinueAsNewAction) else "signal"
            self.fire_and_forget.setdefault(self.ctx._sequence_number, kind)
            fire_and_forget(action)

        def counting_process(event: Any) -> None:
            self.event_index += 1
            process(event)

        def noting_continue_as_new(*args: Any, **kwargs: Any) -> Any:
            if self.can_after is None:
                self.can_after = self.event_index
            return can(*args, **kwargs)

        ctx._add_to_open_tasks = recording_add  # type: ignore[method-assign]
        ctx._record_fire_and_forget_action = recording_fire_and_forget  # type: ignore[method-assign]
        executor.process_event = counting_process
        ctx.continue_as_new = noting_continue_as_new  # type: ignore[method-assign]

    def _record(self, task: AtomicTask) -> None:
        try:
            task_id = int(task.id)  # the SDK types ids as int | str; orchestration task ids are ints
            self.tasks[task_id] = (task, self._describe(task, task_id))
        except Exception as exc:  # keep the SDK's control flow intact; report after the replay
            self.error = self.error or exc

    def _describe(self, task: AtomicTask, task_id: int) -> Leaf:
        action: Any = task.action_repr  # an AtomicTask's is one action (the SDK types it Action | list)
        if isinstance(action, NoOpAction):  # a retry step: the retry timer or the next attempt
            retry: Any = task.parent  # a RetryAbleTask (typed CompoundTask | None by the SDK)
            options = retry.retry_options
            if action.metadata == "-WithRetry timer":
                attempt = retry.num_attempts
                delay_ms = (
                    0
                    if attempt >= options.max_number_of_attempts
                    else options.first_retry_interval_in_milliseconds
                )
                return Leaf(
                    id=task_id,
                    kind=TaskKind.TIMER,
                    action={"actionType": ActionType.CREATE_TIMER},
                    retry_timer=True,
                    attempt=attempt,
                    fire_at=self.ctx.current_utc_datetime + dt.timedelta(milliseconds=delay_ms),
                )
            inner = retry.actions.to_json()
            return Leaf(
                id=task_id,
                kind=ACTION_TASK_KIND[inner["actionType"]],
                action=inner,
                attempt=retry.num_attempts + 1,
            )
        body = action.to_json()
        kind = ACTION_TASK_KIND.get(body.get("actionType"))
        if kind is None:
            raise ValueError(f"unsupported action type {body.get('actionType')!r}")
        return Leaf(id=task_id, kind=kind, action=body)

    def leaves(self) -> list[Leaf]:
        """Every id 0..n-1 with its final state (continue-as-new uses an id but schedules nothing)."""
        if self.error is not None:
            raise self.error
        leaves = []
        for task_id in range(self.ctx._sequence_number):
            if task_id not in self.tasks:
                if self.fire_and_forget.get(task_id) != "continue_as_new":
                    leaves.append(Leaf(id=task_id, kind=TaskKind.SIGNAL, action={}))
                continue
            task, leaf = self.tasks[task_id]
            leaf.state = _STATES.get(task.state, TaskState.PENDING)
            if isinstance(task, TimerTask) and leaf.kind == TaskKind.TIMER:
                leaf.action = task.action_repr.to_json()  # type: ignore[union-attr]  # a timer's is one action
                leaf.cancelled = bool(task.is_cancelled)
                leaf.fire_at = parse_ts(leaf.action["fireAt"])
            leaves.append(leaf)
        return leaves


def run_observed(handle: Callable[..., Any], context: dict[str, Any]) -> ObservedEpisode:
    """Replay like ``handle(json.dumps(context))`` does, recording the SDK's task numbering.

    ``DurableOrchestrationContext.from_json`` is ``cls(**json.loads(text))``; the context is built from the
    value directly, which saves writing and parsing the whole history as JSON on every episode."""
    try:
        ctx = DurableOrchestrationContext(**context)
    except Exception as exc:
        return ObservedEpisode(outcome_from_exception(exc))
    ctx._input_expected_type = getattr(handle, "_df_input_type", None)  # type: ignore[attr-defined]
    orchestrator = Orchestrator(handle.orchestrator_function)  # type: ignore[attr-defined]
    recorder = _Recorder(ctx, orchestrator.task_orchestration_executor)
    try:
        outcome = decode_state(orchestrator.handle(ctx))
    except Exception as exc:
        outcome = outcome_from_exception(exc)
    return ObservedEpisode(outcome, recorder.leaves(), recorder.can_after)
