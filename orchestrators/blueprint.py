"""Registers the capture orchestration (one orchestration per target and cooldown window)."""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.capture import capture_orchestration
from orchestrators.sentry import sentry_orchestration

bp = df.Blueprint()

# The function name (what ``start_new`` uses) is the generator's own name: ``capture_orchestration``.
capture_orchestrator = bp.orchestration_trigger(context_name="context")(capture_orchestration)
sentry_orchestrator = bp.orchestration_trigger(context_name="context")(sentry_orchestration)
