"""``POST /api/alerts``: Azure Monitor webhook → one capture orchestration per target.

``WEBHOOK_AUTH`` decides who may call it (docs/webhook-auth.md). The function key is enforced by the
Functions host from the route's auth level, which the worker reads once, when it indexes this app at start-up
with the app settings already in its environment (changing an app setting restarts the app): ``key`` and
``key+entra`` declare ``function``, ``entra`` declares ``anonymous``. The Entra ID token is checked in code.
"""

from __future__ import annotations

import os
from functools import cache

import azure.durable_functions as df
import azure.functions as func

from core.settings import Settings
from core.webhook_auth import index_time_requires_key
from http_starter import sentry_api
from http_starter.auth import WebhookAuthenticator, authenticate
from http_starter.handler import handle_alert

bp = df.Blueprint()
WEBHOOK_AUTH_LEVEL = (func.AuthLevel.FUNCTION if index_time_requires_key(os.environ)
                      else func.AuthLevel.ANONYMOUS)


@cache
def _settings() -> Settings:
    return Settings.from_mapping(os.environ)


@cache
def _authenticator() -> WebhookAuthenticator:
    return WebhookAuthenticator.from_mapping(os.environ)


@bp.route(route="alerts", methods=["POST"], auth_level=WEBHOOK_AUTH_LEVEL)
@bp.durable_client_input(client_name="client")
async def alerts(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Check the caller per WEBHOOK_AUTH, then start (or join) the capture runs the alert asks for."""
    denied = await authenticate(req, _authenticator)
    if denied is not None:
        return denied
    return await handle_alert(req, client, _settings)


@bp.route(route="sentry/arm", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
async def sentry_arm(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Arm a VM: start its sentry (one continuous capture kept running)."""
    return await sentry_api.arm(req, client, _settings)


@bp.route(route="sentry/disarm", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
async def sentry_disarm(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Disarm a VM: its sentry stops the continuous capture and ends."""
    return await sentry_api.disarm(req, client, _settings)


@bp.route(route="sentry", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
async def sentry_list(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The armed VMs."""
    return await sentry_api.list_armed(client)
