"""Instance control operations of the engine (start, raise, terminate, suspend, resume, rewind, purge).

A mixin of ``Engine``: each operation validates the instance's state, changes it in one transaction and wakes
whatever must run next. ``rewind_history`` is the pure part of rewind.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from devstack.host.history import Event, EventType, RuntimeStatus, format_ts, make_event, utcnow
from devstack.host.store import Instance, InstanceFilter, PageKey

if TYPE_CHECKING:
    from devstack.host.config import HostConfig
    from devstack.host.instances import InstanceWriter
    from devstack.host.loader import FunctionIndex
    from devstack.host.store import Store

log = logging.getLogger("devstack.host.engine")


class EngineError(Exception):
    """A management operation that cannot be done; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def rewind_history(history: list[Event]) -> tuple[list[Event], list[str]]:
    """The history without its failure rows (as newer DTFx rewinds), and the failed children to rewind.

    Drops ExecutionCompleted, every TaskFailed with its TaskScheduled (so the replay schedules it again) and
    every SubOrchestrationInstanceFailed; keeps SubOrchestrationInstanceCreated (its child is rewound).
    """
    failed_tasks = {e.get("TaskScheduledId") for e in history if e["EventType"] == EventType.TASK_FAILED}
    failed_children = {
        e.get("TaskScheduledId")
        for e in history
        if e["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_FAILED
    }
    dropped = (
        EventType.TASK_FAILED,
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        EventType.EXECUTION_COMPLETED,
    )
    kept: list[Event] = []
    children: list[str] = []
    for event in history:
        kind = event["EventType"]
        if kind in dropped or (kind == EventType.TASK_SCHEDULED and event["EventId"] in failed_tasks):
            continue
        if kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED and event["EventId"] in failed_children:
            children.append(str(event.get("InstanceId", "")))
        kept.append(event)
    return kept, children


class InstanceControl:
    """Management operations; mixed into ``Engine``, which provides the store, the instance writer and the
    wake-up plumbing."""

    store: Store
    index: FunctionIndex
    config: HostConfig
    instances: InstanceWriter

    # the plumbing Engine provides
    def now(self) -> dt.datetime:
        raise NotImplementedError

    def _mark_ready(self, instance_id: str) -> None:
        raise NotImplementedError

    def _notify_finished(self, instance_id: str) -> None:
        raise NotImplementedError

    async def _commit_with_next_slice(self, change: Callable[[], Instance]) -> Instance:
        raise NotImplementedError

    async def start_instance(
        self, name: str, instance_id: str, raw_input: str | None, version: str | None
    ) -> Instance:
        """Create (or replace, per overridableExistingInstanceStates) an instance; raises EngineError.

        Returns once the instance is committed; a burst of starts shares the dispatcher's next commit."""
        orchestrator = self.index.orchestrator(name)
        if orchestrator is None:
            known = ", ".join(f"'{o.name}'" for o in self.index.orchestrators.values())
            raise EngineError(
                400,
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator "
                f"function. Additional info: The following are the known orchestrator "
                f"functions: {known}.",
            )

        def create() -> Instance:  # inside the dispatcher's transaction
            existing = self.store.get_instance(instance_id)
            if (
                existing is not None
                and existing.status not in RuntimeStatus.TERMINAL
                and self.config.overridable_existing_states.lower() != "anystate"
            ):
                raise EngineError(
                    409, f"An Orchestration instance with the status {existing.status} already exists."
                )
            inst = self.instances.create(
                instance_id,
                orchestrator.name,
                version or self.config.default_version,
                raw_input,
                None,
                self.now(),
                replace=existing is not None,
            )
            self._mark_ready(instance_id)
            return inst

        return await self._commit_with_next_slice(create)

    def _require(self, instance_id: str, gone_if_terminal: bool = True) -> Instance:
        inst = self.store.get_instance(instance_id)
        if inst is None:
            raise EngineError(404, f"No instance with ID '{instance_id}' found.")
        if gone_if_terminal and inst.status in RuntimeStatus.TERMINAL:
            raise EngineError(410, f"Instance '{instance_id}' is in the {inst.status} state.")
        return inst

    def raise_event(self, instance_id: str, name: str, input_json: str) -> None:
        """Queue an EventRaised (``input_json`` = json(X) of the request body value X)."""
        self._require(instance_id)
        with self.store.transaction():
            self.store.enqueue(
                instance_id, make_event(EventType.EVENT_RAISED, utcnow(), Name=name, Input=input_json)
            )
        self._mark_ready(instance_id)

    def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate a non-terminal instance: nothing is cancelled, results arriving later are dropped."""
        inst = self._require(instance_id)
        now = self.now()
        with self.store.transaction():
            self.store.append_history(
                instance_id,
                [
                    make_event(EventType.EXECUTION_TERMINATED, now, Input=reason),
                    make_event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=5, Result=reason),
                ],
            )
            self.store.clear_timers(instance_id)
            self.store.delete_messages([m.id for m in self.store.inbox(instance_id)])
            updated = replace(
                inst,
                status=RuntimeStatus.TERMINATED,
                output=json.dumps(reason),
                last_updated_time=format_ts(now),
                wake=False,
            )
            self.store.put_instance(updated)
            wake = self.instances.notify_parent(updated, None, reason)
        log.info("terminated instance=%s", instance_id)
        self._notify_finished(instance_id)
        for target in wake:
            self._mark_ready(target)

    def suspend(self, instance_id: str, reason: str) -> None:
        """Suspend: no episodes run; messages queue up until resume."""
        inst = self._require(instance_id)
        if inst.status == RuntimeStatus.SUSPENDED:
            raise EngineError(400, f"Instance '{instance_id}' is already suspended.")
        self._set_suspended(inst, True, reason)

    def resume(self, instance_id: str, reason: str) -> None:
        """Resume a suspended instance and deliver what queued up."""
        inst = self._require(instance_id)
        if inst.status != RuntimeStatus.SUSPENDED:
            raise EngineError(400, f"Instance '{instance_id}' is not suspended (it is {inst.status}).")
        self._set_suspended(inst, False, reason)
        self._mark_ready(instance_id)

    def _set_suspended(self, inst: Instance, suspended: bool, reason: str) -> None:
        now = self.now()
        kind = EventType.EXECUTION_SUSPENDED if suspended else EventType.EXECUTION_RESUMED
        status = RuntimeStatus.SUSPENDED if suspended else RuntimeStatus.RUNNING
        with self.store.transaction():
            if self.store.history(inst.instance_id):
                self.store.append_history(inst.instance_id, [make_event(kind, now, Reason=reason)])
            self.store.put_instance(replace(inst, status=status, last_updated_time=format_ts(now)))

    def rewind(self, instance_id: str, reason: str) -> None:
        """Rewind a Failed instance: drop failures, reschedule failed work, rewind failed children."""
        inst = self._require(instance_id, gone_if_terminal=False)
        if inst.status in (RuntimeStatus.COMPLETED, RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED):
            raise EngineError(
                410, f"Instance '{instance_id}' is {inst.status}; only Failed instances can be rewound."
            )
        if inst.status != RuntimeStatus.FAILED:
            raise EngineError(
                400, f"Instance '{instance_id}' is {inst.status}; only Failed instances can be rewound."
            )
        woken: list[str] = []
        with self.store.transaction():
            self._rewind_one(inst, woken)
        log.info("rewound instance=%s (%s)", instance_id, reason)
        for target in woken:
            self._mark_ready(target)

    def _rewind_one(self, inst: Instance, woken: list[str]) -> None:
        kept, failed_children = rewind_history(self.store.history(inst.instance_id))
        for child_id in failed_children:
            child = self.store.get_instance(child_id)
            if child is not None and child.status == RuntimeStatus.FAILED:
                self._rewind_one(child, woken)
        self.store.replace_history(inst.instance_id, kept)
        rewound = replace(
            inst, status=RuntimeStatus.PENDING, output=None, wake=True, last_updated_time=format_ts(utcnow())
        )
        self.store.put_instance(rewound)
        woken.append(inst.instance_id)

    def purge(self, instance_id: str) -> int:
        """Delete an instance and its history; returns the number deleted."""
        if self.store.get_instance(instance_id) is None:
            return 0
        with self.store.transaction():
            self.store.delete_instance(instance_id)
        return 1

    def purge_many(self, where: InstanceFilter) -> int:
        """Purge the terminal instances that match ``where``; returns the number deleted."""
        instances = self.store.list_instances(where.restricted_to(RuntimeStatus.TERMINAL))
        with self.store.transaction():
            for inst in instances:
                self.store.delete_instance(inst.instance_id)
        return len(instances)

    # queries -------------------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> Instance | None:
        """The instance, or None if there is no such id."""
        return self.store.get_instance(instance_id)

    def get_history(self, instance_id: str) -> list[Event]:
        """The current execution's history, oldest first."""
        return self.store.history(instance_id)

    def list_instances(
        self, where: InstanceFilter, after: PageKey | None = None, limit: int | None = None
    ) -> list[Instance]:
        """Instances matching ``where`` in (created time, id) order, strictly after ``after``."""
        return self.store.list_instances(where, after, limit)
