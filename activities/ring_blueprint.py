"""Activity functions of the sentry and the harvest: typed payloads from `core.sentry` / `core.harvest` in,
an :class:`core.outcome.Outcome` dict out (transient Azure errors raise and are retried)."""

from __future__ import annotations

import azure.durable_functions as df

from activities import ring_ops
from activities.registration import register_activity
from core.harvest import HarvestRequest
from core.sentry import RingPlan, RingPrune, RingSweep

bp = df.Blueprint()

ensure_ring = register_activity(bp, ring_ops.ensure_ring, RingPlan.from_dict)
sweep_rings = register_activity(bp, ring_ops.sweep_rings, RingSweep.from_dict)
prune_rings = register_activity(bp, ring_ops.prune_rings, RingPrune.from_dict)
harvest_ring = register_activity(bp, ring_ops.harvest, HarvestRequest.from_dict, name="harvest_ring")
