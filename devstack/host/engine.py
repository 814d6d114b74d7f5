"""The durable engine: dispatches episodes, activities and timers over the SQLite store.

Everything runs on the host's asyncio loop. An episode is synchronous from loading the instance to committing
its effects, so no other writer can interleave with it; one dispatcher runs episodes one at a time, which is
also the "one episode at a time per instance" rule.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.host.activities import ActivityRunner
from devstack.host.config import HostConfig
from devstack.host.control import EngineError, InstanceControl
from devstack.host.episode import EpisodeEffects, EpisodeInput, decide
from devstack.host.executor import EpisodeOutcome, build_context, run_episode
from devstack.host.history import (
    COMPLETION_ID_KEY,
    Event,
    EventType,
    RuntimeStatus,
    format_ts,
    make_event,
    parse_ts,
    utcnow,
)
from devstack.host.instances import InstanceWriter
from devstack.host.loader import FunctionIndex
from devstack.host.observe import can_observe, run_observed
from devstack.host.replay import EpisodePlan, build_plan, continue_as_new_action
from devstack.host.simulation import plan_episode
from devstack.host.store import ActivityItem, Instance, Store
from devstack.host.tasks import SCHEDULING_EVENT
from devstack.host.timers import TimerClock

log = logging.getLogger("devstack.host.engine")
DISPATCH_SLICE_SECONDS = 0.005

COMPLETION_SCHEDULED_BY = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    EventType.TIMER_FIRED: EventType.TIMER_CREATED,
}


@dataclass
class _Delivery:
    deliver: list[Event]
    consumed: list[int]


@dataclass
class _PendingChange:
    """A management change waiting for the dispatcher's next transaction, and who waits for its commit."""

    change: Callable[[], Instance]
    committed: asyncio.Future[Instance]
    result: Instance | BaseException | None = None


class Engine(InstanceControl):
    """Orchestration, activity and timer dispatch with persisted state."""

    def __init__(self, store: Store, index: FunctionIndex, config: HostConfig, app_dir: str):
        self.store = store
        self.index = index
        self.config = config
        self.instances = InstanceWriter(store, index)
        self.runner = ActivityRunner(
            index, config.max_concurrent_activities, config.function_timeout_seconds, app_dir
        )
        self._ready: dict[str, None] = {}
        self._ready_event = asyncio.Event()
        self._activities: asyncio.Queue[ActivityItem] = asyncio.Queue()
        self.timers = TimerClock(self._fire_timer)
        self._tasks: list[asyncio.Task[None]] = []
        self._clock_floor: dt.datetime | None = None
        self._finish_watchers: dict[str, list[asyncio.Future[None]]] = {}
        self._completions: list[tuple[ActivityItem, Event]] = []
        self._changes: list[_PendingChange] = []

    # lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Resume persisted work (activities in flight, armed timers, queued messages); dispatch."""
        for item in self.store.activities():
            self._activities.put_nowait(item)
        for timer in self.store.all_timers():
            self.timers.arm(timer.due, timer.id)
        for instance_id in self.store.instances_to_wake():
            self._mark_ready(instance_id)
        workers = max(1, self.config.max_concurrent_activities)
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="orchestrations"),
            asyncio.create_task(self.timers.run(), name="timers"),
        ]
        self._tasks += [
            asyncio.create_task(self._activity_loop(), name=f"activity-{i}") for i in range(workers)
        ]

    async def stop(self) -> None:
        """Stop dispatching; unfinished work stays persisted and resumes on the next start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._answer_changes(EngineError(503, "The host is shutting down."), self._changes)
        self._changes = []
        if self._completions:  # finished activities are not run again after a clean stop
            with self.store.transaction():
                self._record_completions()
        self.runner.close()

    async def wait_until_finished(self, instance_id: str, timeout: float) -> Instance | None:
        """The instance once it is in a terminal state, or None if ``timeout`` seconds pass first."""
        inst = self.store.get_instance(instance_id)
        if inst is not None and inst.status in RuntimeStatus.TERMINAL:
            return inst
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._finish_watchers.setdefault(instance_id, []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            watchers = self._finish_watchers.get(instance_id, [])
            if future in watchers:
                watchers.remove(future)
            if not watchers:
                self._finish_watchers.pop(instance_id, None)
        return self.store.get_instance(instance_id)

    def release_waiters(self) -> None:
        """Answer every pending ``wait_until_finished`` now (start-and-wait requests get their 202), so a
        shutdown does not wait for instances to finish."""
        for instance_id in list(self._finish_watchers):
            self._notify_finished(instance_id)

    def _notify_finished(self, instance_id: str) -> None:
        for future in self._finish_watchers.pop(instance_id, []):
            if not future.done():
                future.set_result(None)

    def _mark_ready(self, instance_id: str) -> None:
        self._ready[instance_id] = None
        self._ready_event.set()

    def now(self) -> dt.datetime:
        """Monotonic UTC time for orchestrator timestamps."""
        moment = utcnow()
        if self._clock_floor is not None and moment <= self._clock_floor:
            moment = self._clock_floor + dt.timedelta(microseconds=1)
        self._clock_floor = moment
        return moment

    # dispatch loops ------------------------------------------------------------------------------------
    async def _dispatch_loop(self) -> None:
        while True:
            await self._ready_event.wait()
            self._ready_event.clear()
            while self._ready or self._completions or self._changes:
                changes, self._changes = self._changes, []
                try:
                    self._run_slice(changes)
                except Exception as exc:  # the commit failed: finished activities run again on the next start
                    log.exception("a dispatch slice could not be committed")
                    self._answer_changes(exc, changes)
                else:
                    self._answer_changes(None, changes)
                await asyncio.sleep(0)  # let HTTP requests and activity completions in

    async def _commit_with_next_slice(self, change: Callable[[], Instance]) -> Instance:
        """Run ``change`` (store writes) inside the dispatcher's next transaction, in its own savepoint, and
        return its result once that transaction is committed (or raise what it raised): a burst of starts
        shares one commit with the episodes, instead of one commit each."""
        pending = _PendingChange(change, asyncio.get_running_loop().create_future())
        self._changes.append(pending)
        self._ready_event.set()
        return await pending.committed

    @staticmethod
    def _answer_changes(failure: BaseException | None, changes: list[_PendingChange]) -> None:
        for pending in changes:
            if pending.committed.done():
                continue
            outcome = failure if failure is not None else pending.result
            if isinstance(outcome, BaseException):
                pending.committed.set_exception(outcome)
            elif outcome is not None:
                pending.committed.set_result(outcome)
            else:
                pending.committed.set_exception(RuntimeError("the change was not applied"))

    def _run_slice(self, changes: list[_PendingChange] | None = None) -> None:
        """Apply waiting management changes, record finished activities, then run ready episodes for up to
        ``DISPATCH_SLICE_SECONDS``, all in one transaction (each change and episode in its own savepoint): a
        burst shares one commit. Nothing outside this method runs before that commit (the loop does not
        yield inside it)."""
        started = time.perf_counter()
        with self.store.transaction():
            for pending in changes or []:
                try:
                    with self.store.transaction():
                        pending.result = pending.change()
                except Exception as exc:  # this change only (e.g. a 409): the others go on
                    pending.result = exc
            self._record_completions()
            while self._ready and time.perf_counter() - started <= DISPATCH_SLICE_SECONDS:
                instance_id = next(iter(self._ready))
                del self._ready[instance_id]
                try:
                    self.process(instance_id)
                except Exception:
                    log.exception("episode for instance=%s crashed", instance_id)

    def _record_completions(self) -> None:
        """Queue each finished activity's result for its instance and delete its work item, atomically."""
        finished, self._completions = self._completions, []
        for item, event in finished:
            if self.store.delete_activity(item.id):  # else purged meanwhile
                self.store.enqueue(item.instance_id, event, item.execution_id)
                self._mark_ready(item.instance_id)

    async def _activity_loop(self) -> None:
        while True:
            item = await self._activities.get()
            try:
                await self._run_activity(item)
            except Exception:  # the item stays persisted and runs again on the next start
                log.exception(
                    "activity %s for instance=%s could not be completed", item.name, item.instance_id
                )

    async def _run_activity(self, item: ActivityItem) -> None:
        inst = self.store.get_instance(item.instance_id)
        if inst is None or inst.execution_id != item.execution_id or inst.status in RuntimeStatus.TERMINAL:
            with self.store.transaction():
                self.store.delete_activity(item.id)
            return
        event = await self.runner.run(item)
        self._completions.append((item, event))  # recorded by the dispatcher with the next slice's commit
        self._ready_event.set()

    def _fire_timer(self, row_id: int) -> None:
        timer = self.store.get_timer(row_id)
        if timer is None:
            return
        event = make_event(EventType.TIMER_FIRED, utcnow(), TimerId=timer.timer_id, FireAt=timer.fire_at)
        with self.store.transaction():
            self.store.delete_timer(row_id)
            self.store.enqueue(timer.instance_id, event, timer.execution_id)
        self._mark_ready(timer.instance_id)

    # episodes ------------------------------------------------------------------------------------------
    def process(self, instance_id: str) -> None:
        """Run one episode for the instance if it has deliverable messages (or a rewind wake-up)."""
        inst = self.store.get_instance(instance_id)
        messages = self.store.inbox(instance_id)
        if inst is None or inst.status in RuntimeStatus.TERMINAL:
            if messages:
                with self.store.transaction():
                    self.store.delete_messages([m.id for m in messages])
            return
        if inst.status == RuntimeStatus.SUSPENDED:
            return
        history = self.store.history(instance_id)
        delivery = self._select_messages(inst, history, messages)
        if not delivery.deliver and not inst.wake:
            if delivery.consumed:
                with self.store.transaction():
                    self.store.delete_messages(delivery.consumed)
            return
        if not history and not any(e["EventType"] == EventType.EXECUTION_STARTED for e in delivery.deliver):
            return
        self._run_episode(inst, history, delivery)

    def _select_messages(self, inst: Instance, history: list[Event], messages: list[Any]) -> _Delivery:
        scheduled = {
            (e["EventType"], e["EventId"]) for e in history if e["EventType"] in SCHEDULING_EVENT.values()
        }
        completed = {
            (COMPLETION_SCHEDULED_BY[e["EventType"]], e.get(COMPLETION_ID_KEY[e["EventType"]]))
            for e in history
            if e["EventType"] in COMPLETION_ID_KEY
        }
        started = any(e["EventType"] == EventType.EXECUTION_STARTED for e in history)
        delivery = _Delivery(deliver=[], consumed=[])
        for message in messages:
            delivery.consumed.append(message.id)
            event = message.event
            if message.execution_id and message.execution_id != inst.execution_id:
                continue
            kind = event["EventType"]
            if kind == EventType.EXECUTION_STARTED:
                if started:
                    continue
                started = True
            elif kind in COMPLETION_ID_KEY:
                key = (COMPLETION_SCHEDULED_BY[kind], event.get(COMPLETION_ID_KEY[kind]))
                if key not in scheduled or key in completed:
                    continue  # stale or duplicate completion (activities run at least once)
                completed.add(key)
            delivery.deliver.append(event)
        return delivery

    def _episode_time(self, inst: Instance, new_events: list[Event]) -> dt.datetime:
        moment = self.now()
        if inst.last_ts:
            moment = max(moment, parse_ts(inst.last_ts) + dt.timedelta(microseconds=1))
        for event in new_events:
            if event["EventType"] == EventType.TIMER_FIRED and event.get("FireAt"):
                moment = max(moment, parse_ts(event["FireAt"]))
        return moment

    def _run_episode(self, inst: Instance, history: list[Event], delivery: _Delivery) -> None:
        started = time.perf_counter()
        now = self._episode_time(inst, delivery.deliver)
        new_events = [make_event(EventType.ORCHESTRATOR_STARTED, now)]
        new_events += [dict(e, IsPlayed=False) for e in delivery.deliver]
        full = [dict(e, IsPlayed=True) for e in history] + new_events
        orchestrator = self.index.orchestrator(inst.name)
        parent_ids = self._ancestor_ids(inst)
        info = EpisodeInput(
            inst.instance_id, inst.execution_id, inst.name, parent_ids, self.config.default_version, now
        )
        if orchestrator is None:
            effects = decide(info, full, _missing_orchestrator(inst.name), plan_episode(full, []), self.index)
            outcome_custom = None
        else:
            context = build_context(full, inst.instance_id, inst.input, parent_ids[0] if parent_ids else None)
            outcome, plan = replay(orchestrator.handle, context, full)
            outcome_custom = outcome.custom_status
            effects = decide(info, full, outcome, plan, self.index)
        self._commit(inst, new_events, delivery, effects, outcome_custom, now)
        log.info(
            "episode %s instance=%s events=%d -> %s (+%d activities, +%d timers, +%d children) in %.1f ms",
            inst.name,
            inst.instance_id,
            len(delivery.deliver),
            effects.status,
            len(effects.activities),
            len(effects.timers),
            len(effects.children),
            (time.perf_counter() - started) * 1000,
        )

    def _ancestor_ids(self, inst: Instance) -> tuple[str, ...]:
        ids: list[str] = []
        parent = inst.parent
        while parent and len(ids) < 2:
            parent_id = parent["OrchestrationInstance"]["InstanceId"]
            ids.append(parent_id)
            row = self.store.get_instance(parent_id)
            parent = row.parent if row else None
        return tuple(ids)

    def _commit(
        self,
        inst: Instance,
        new_events: list[Event],
        delivery: _Delivery,
        effects: EpisodeEffects,
        custom_status: Any,
        now: dt.datetime,
    ) -> None:
        wake: set[str] = set()
        armed: list[tuple[float, int]] = []
        activity_items: list[ActivityItem] = []
        with self.store.transaction():
            self.store.delete_messages(delivery.consumed)
            events = new_events + effects.events + [make_event(EventType.ORCHESTRATOR_COMPLETED, now)]
            self.store.append_history(inst.instance_id, events)
            for work in effects.activities:
                activity_items.append(
                    self.store.add_activity(
                        inst.instance_id, inst.execution_id, work.task_id, work.name, work.input
                    )
                )
            for timer in effects.timers:
                row = self.store.add_timer(
                    inst.instance_id,
                    inst.execution_id,
                    timer.timer_id,
                    format_ts(timer.fire_at),
                    timer.fire_at.timestamp(),
                )
                armed.append((row.due, row.id))
            if effects.cancelled_timer_ids:
                self.store.cancel_timers(inst.instance_id, inst.execution_id, effects.cancelled_timer_ids)
            for child in effects.children:
                wake.add(self.instances.create_child(inst, child, now))
            updated = inst  # the episode's own copy of the row (get_instance hands out copies)
            updated.status = effects.status
            updated.last_updated_time = updated.last_ts = format_ts(now)
            updated.wake = False
            updated.custom_status = json.dumps(custom_status) if custom_status is not None else None
            if effects.has_output:
                updated.output = json.dumps(effects.output)
            if effects.status == RuntimeStatus.CONTINUED_AS_NEW:
                self.instances.continue_as_new(updated, effects, now)
                wake.add(inst.instance_id)
            if effects.status in RuntimeStatus.TERMINAL:
                self.store.clear_timers(inst.instance_id)
                wake |= self.instances.notify_parent(updated, effects)
            self.store.put_instance(updated)
        for item in activity_items:
            self._activities.put_nowait(item)
        for due, row_id in armed:
            self.timers.arm(due, row_id)
        for instance_id in wake:
            self._mark_ready(instance_id)
        if effects.status in RuntimeStatus.TERMINAL:
            self._notify_finished(inst.instance_id)


def replay(handle: Any, context: dict[str, Any], history: list[Event]) -> tuple[EpisodeOutcome, EpisodePlan]:
    """Run the episode and number its tasks: observed in the SDK for ``Orchestrator.create`` handles (every
    ``orchestration_trigger``), simulated (``simulation.py``) for plain generic-trigger orchestrators."""
    try:
        if can_observe(handle):
            observed = run_observed(handle, context)
            outcome = observed.outcome
            can_action = continue_as_new_action(outcome.actions)
            return outcome, build_plan(history, observed.leaves, can_action, observed.continue_as_new_after)
        outcome = run_episode(handle, context)
        return outcome, plan_episode(history, outcome.actions)
    except Exception as exc:  # an action this host cannot interpret
        failed = EpisodeOutcome(is_done=True, error=f"devstack host cannot run this orchestrator: {exc}")
        return failed, plan_episode(history, [])


def _missing_orchestrator(name: str) -> EpisodeOutcome:
    return EpisodeOutcome(
        is_done=True,
        error=f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.",
    )
