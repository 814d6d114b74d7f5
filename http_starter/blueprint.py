"""``POST /api/alerts`` (function key): Azure Monitor webhook → one capture orchestration per target."""

from __future__ import annotations

import os
from functools import cache

import azure.durable_functions as df
import azure.functions as func

from core.settings import Settings
from http_starter.handler import handle_alert

bp = df.Blueprint()


@cache
def _settings() -> Settings:
    return Settings.from_mapping(os.environ)


@bp.route(route="alerts", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def alerts(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Receive an alert webhook and start (or join) the capture runs it asks for."""
    return await handle_alert(req, client, _settings)
