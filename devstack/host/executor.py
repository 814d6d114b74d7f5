"""Run one orchestrator episode through the SDK's own handle: context JSON in, OrchestratorState out."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import OrchestrationTriggerConverter

from devstack.host.history import Event

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


@dataclass
class EpisodeOutcome:
    """The decoded OrchestratorState of one episode."""

    is_done: bool
    actions: list[dict[str, Any]] = field(default_factory=list)
    output: Any = None
    error: str | None = None
    custom_status: Any = None


def context_input(raw_input: str | None) -> Any:
    """The ``input`` field for the context: the stored JSON value, safe for ``get_input()`` (a bare number
    or list there would make it raise)."""
    if raw_input is None:
        return None
    value = json.loads(raw_input)
    if value is None or isinstance(value, (str, dict)):
        return value
    return json.dumps(value)


def build_context(
    history: list[Event], instance_id: str, raw_input: str | None, parent_instance_id: str | None
) -> dict[str, Any]:
    """The orchestration context the extension sends, as the JSON object's value (no timer durations, so
    timers never split into long-timer chunks)."""
    return {
        "history": history,
        "input": context_input(raw_input),
        "instanceId": instance_id,
        "isReplaying": False,
        "parentInstanceId": parent_instance_id,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
    }


def decode_state(state_json: str) -> EpisodeOutcome:
    """Decode an OrchestratorState JSON string into an outcome."""
    state = json.loads(state_json)
    action_lists = state.get("actions") or []
    if state.get("schemaVersion") is None:  # V1 layout: one list per yield
        actions = [a for group in action_lists for a in group]
    else:
        actions = list(action_lists[0]) if action_lists else []
    return EpisodeOutcome(
        is_done=bool(state.get("isDone")),
        actions=actions,
        output=state.get("output"),
        error=state.get("error"),
        custom_status=state.get("customStatus"),
    )


def outcome_from_exception(exc: Exception) -> EpisodeOutcome:
    """Decode the SDK's failure report: it raises ``"<msg>\n\n$OutOfProcData$:<state>"``."""
    text = str(exc)
    message, marker, state_json = text.partition(OUT_OF_PROC_MARKER)
    if not marker:
        return EpisodeOutcome(is_done=True, error=text or type(exc).__name__)
    try:
        outcome = decode_state(state_json)
    except ValueError:
        outcome = EpisodeOutcome(is_done=True)
    outcome.error = outcome.error or message
    return outcome


def run_episode(handle: Callable[[Any], str], context: dict[str, Any]) -> EpisodeOutcome:
    """Call an orchestrator function the host cannot observe (a plain function registered as a generic
    ``orchestrationTrigger``) as the worker does: with the converter's ``func.OrchestrationContext``.

    A raised error becomes ``outcome.error``.
    """
    datum = meta.Datum(json.dumps(context), "json")
    trigger_context = OrchestrationTriggerConverter.decode(datum, trigger_metadata=None)
    try:
        return decode_state(handle(trigger_context))
    except Exception as exc:  # the SDK reports orchestrator failures by raising
        return outcome_from_exception(exc)
