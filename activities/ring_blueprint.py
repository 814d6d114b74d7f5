"""Activity functions of the sentry and the harvest: typed payloads from `core.sentry` / `core.harvest` in,
an :class:`core.outcome.Outcome` dict out (transient Azure errors raise and are retried)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import ring_ops
from activities.errors import outcome_activity
from core.harvest import HarvestRequest
from core.sentry import RingPlan, RingPrune, RingSweep

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def ensure_ring(payload: dict[str, Any]) -> dict[str, Any]:
    """Create (or read back) the running continuous capture of one sentry generation."""
    return outcome_activity(ring_ops.ensure_ring)(RingPlan.from_dict(payload))


@bp.activity_trigger(input_name="payload")
def sweep_rings(payload: dict[str, Any]) -> dict[str, Any]:
    """Stop and delete the target's other continuous captures."""
    return outcome_activity(ring_ops.sweep_rings)(RingSweep.from_dict(payload))


@bp.activity_trigger(input_name="payload")
def prune_rings(payload: dict[str, Any]) -> dict[str, Any]:
    """Trim earlier sessions' files so the target's rings stay within the budget."""
    return outcome_activity(ring_ops.prune_rings)(RingPrune.from_dict(payload))


@bp.activity_trigger(input_name="payload")
def harvest_ring(payload: dict[str, Any]) -> dict[str, Any]:
    """Copy the ring files of an incident window into incidents/<run id>/."""
    return outcome_activity(ring_ops.harvest)(HarvestRequest.from_dict(payload))
