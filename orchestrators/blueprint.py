"""Registers the orchestrations: capture (one per target and alert window), sentry (one per armed target)."""

from __future__ import annotations

import azure.durable_functions as df

from core.orchestration import CAPTURE_ORCHESTRATOR, SENTRY_ORCHESTRATOR
from orchestrators.capture import capture_orchestration
from orchestrators.sentry import sentry_orchestration

bp = df.Blueprint()

# The function names (what ``start_new`` uses) come from core.orchestration, not from the generators' names.
capture_orchestrator = bp.function_name(CAPTURE_ORCHESTRATOR)(
    bp.orchestration_trigger(context_name="context")(capture_orchestration))
sentry_orchestrator = bp.function_name(SENTRY_ORCHESTRATOR)(
    bp.orchestration_trigger(context_name="context")(sentry_orchestration))
