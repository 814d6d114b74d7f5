"""The one way orchestrators read their input."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df


def orchestration_input(context: df.DurableOrchestrationContext) -> Any:
    """The instance's input, decoded once more when it arrived as JSON text (the SDK may pass a string)."""
    raw = context.get_input()
    return json.loads(raw) if isinstance(raw, str) else raw
