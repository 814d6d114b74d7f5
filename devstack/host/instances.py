"""Instance writes shared by episodes and management operations: create, start a child, continue as new,
report to the parent. They run inside the caller's transaction and return the instances to wake.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from devstack.host.episode import ChildStart, EpisodeEffects, new_execution_id
from devstack.host.history import Event, EventType, RuntimeStatus, format_ts, make_event, utcnow
from devstack.host.loader import FunctionIndex
from devstack.host.store import Instance, Store


class InstanceWriter:
    """Creates and links instances in the store; knows nothing about dispatch."""

    def __init__(self, store: Store, index: FunctionIndex):
        self.store = store
        self.index = index

    def continue_as_new(self, inst: Instance, effects: EpisodeEffects, now: dt.datetime) -> None:
        """Start the next execution of ``inst`` (new ExecutionId, fresh history) with the carried events."""
        inst.execution_id = new_execution_id()
        inst.input = json.dumps(effects.continue_as_new_input)
        self.store.clear_execution(inst.instance_id)
        self.store.enqueue(inst.instance_id, self._execution_started(inst, now), inst.execution_id)
        for event in effects.carried_events:
            self.store.enqueue(inst.instance_id, dict(event, IsPlayed=False), inst.execution_id)

    def _execution_started(self, inst: Instance, now: dt.datetime) -> Event:
        fields: dict[str, Any] = {
            "Name": inst.name,
            "Version": inst.version or "",
            "Input": inst.input,
            "OrchestrationInstance": {"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
        }
        if inst.parent:
            fields["ParentInstance"] = inst.parent
        return make_event(EventType.EXECUTION_STARTED, now, **fields)

    def create_child(self, parent: Instance, child: ChildStart, now: dt.datetime) -> str:
        """Create the sub-orchestration (or fail the task if that id is running); returns the id to wake."""
        existing = self.store.get_instance(child.instance_id)
        if existing is not None and existing.status not in RuntimeStatus.TERMINAL:
            reason = f"An Orchestration instance with the status {existing.status} already exists."
            failed = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                now,
                TaskScheduledId=child.task_id,
                Reason=reason,
                Details=reason,
            )
            self.store.enqueue(parent.instance_id, failed, parent.execution_id)
            return parent.instance_id
        link = {
            "Name": parent.name,
            "Version": parent.version or "",
            "TaskScheduleId": child.task_id,
            "OrchestrationInstance": {"InstanceId": parent.instance_id, "ExecutionId": parent.execution_id},
        }
        orchestrator = self.index.orchestrator(child.name)
        name = orchestrator.name if orchestrator else child.name
        self.create(
            child.instance_id,
            name,
            child.version,
            json.dumps(child.input) if child.input is not None else None,
            link,
            now,
            replace=existing is not None,
        )
        return child.instance_id

    def create(
        self,
        instance_id: str,
        name: str,
        version: str | None,
        raw_input: str | None,
        parent: dict[str, Any] | None,
        now: dt.datetime,
        replace: bool,
    ) -> Instance:
        """Insert a Pending instance (replacing a finished one) and queue its ExecutionStarted."""
        if replace:
            self.store.delete_instance(instance_id)
        stamp = format_ts(now)
        inst = Instance(
            instance_id=instance_id,
            name=name,
            version=version,
            execution_id=new_execution_id(),
            status=RuntimeStatus.PENDING,
            input=raw_input,
            output=None,
            custom_status=None,
            created_time=stamp,
            last_updated_time=stamp,
            parent=parent,
        )
        self.store.put_instance(inst)
        self.store.enqueue(instance_id, self._execution_started(inst, now), inst.execution_id)
        return inst

    def notify_parent(
        self, inst: Instance, effects: EpisodeEffects | None, reason: str | None = None
    ) -> set[str]:
        """Queue the sub-orchestration completion for the parent; returns the ids to wake."""
        if not inst.parent:
            return set()
        parent_ref = inst.parent["OrchestrationInstance"]
        task_id = inst.parent["TaskScheduleId"]
        now = utcnow()
        if effects is not None and effects.status == RuntimeStatus.COMPLETED:
            event = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                now,
                TaskScheduledId=task_id,
                Result=json.dumps(effects.output),
            )
        else:
            message = reason if reason is not None else (effects.failure if effects else "") or ""
            event = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                now,
                TaskScheduledId=task_id,
                Reason=message,
                Details=message,
            )
        self.store.enqueue(parent_ref["InstanceId"], event, parent_ref["ExecutionId"])
        return {parent_ref["InstanceId"]}
