"""The sentry HTTP API (admin level: the master key, as the Durable management API also accepts):

- ``POST /api/sentry/arm`` ``{"target": <VM or scale-set id>, "lookback_seconds", "budget_bytes",
  "after_seconds", ...}`` starts the target's sentry (202), or answers 200 when it is already armed;
- ``POST /api/sentry/disarm`` ``{"target": <id>}`` asks the sentry to stop its capture and end (202;
  404 when the target is not armed);
- ``GET /api/sentry`` lists the armed targets with their ring (the sentries' published views).
Bad input is a 400 naming the field; an unreachable Durable backend a 503.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.functions as func

from core.arm_ids import VM_TYPE, VMSS_TYPE, InvalidResourceId, parse_resource_id, scale_set_instance
from core.errors import ConfigurationError, InvalidRequest
from core.orchestration import ACTIVE_RUNTIME_STATUSES, DISARM_EVENT, SENTRY_ORCHESTRATOR
from core.sentry import (
    SENTRY_PREFIX,
    ArmRequest,
    SentryState,
    SentryView,
    sentry_instance_id,
)
from core.settings import Settings
from core.targets import AZURE_VM, AZURE_VMSS, Target, in_allowed_scopes
from http_starter.handler import BackendUnavailable, _client_call, _status_name, json_response

MAX_BODY_BYTES = 16 * 1024
log = logging.getLogger("alertcap.sentry")


def _read_body(req: func.HttpRequest) -> dict[str, Any]:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest("body", f"is larger than {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(body.decode("utf-8") or "null")
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("body", f"is not JSON: {str(exc)[:120]}") from None
    if not isinstance(document, dict):
        raise InvalidRequest("body", "must be a JSON object")
    return document


def _target(document: dict[str, Any], settings: Settings) -> Target:
    """The VM or scale set named by the body's `target` (a scale set's instance: 400, arm the set)."""
    raw = document.get("target")
    if not isinstance(raw, str):
        raise InvalidRequest("target", "must be the ARM id of a virtual machine or scale set")
    try:
        rid = parse_resource_id(raw)
    except InvalidResourceId as exc:
        raise InvalidRequest("target", str(exc)) from None
    if scale_set_instance(rid) is not None:
        raise InvalidRequest("target", "is a scale-set instance: arm its scale set (all its instances)")
    kind = {VM_TYPE: AZURE_VM, VMSS_TYPE: AZURE_VMSS}.get(rid.full_type)
    if kind is None:
        raise InvalidRequest("target", "only virtual machines and scale sets can be armed")
    if settings.allowed_scopes and not in_allowed_scopes(rid.id, settings.allowed_scopes):
        raise InvalidRequest("target", "is outside the allowed subscriptions/resource groups")
    return Target(rid.id, kind)


def _arm_request(document: dict[str, Any], settings: Settings) -> ArmRequest:
    target = _target(document, settings).to_dict()
    return ArmRequest.from_dict({**{k: v for k, v in document.items() if k != "target"}, "target": target})


async def _active(client: Any, instance_id: str) -> Any | None:
    status = await _client_call("get_status", client.get_status(instance_id))
    return status if status and _status_name(status) in ACTIVE_RUNTIME_STATUSES else None


def _view(status: Any) -> dict[str, Any]:
    view = SentryView.from_dict(getattr(status, "custom_status", None))
    body = view.to_dict() if view else {}
    return {"instanceId": getattr(status, "instance_id", ""), "runtimeStatus": _status_name(status), **body}


async def arm(req: func.HttpRequest, client: Any, settings_loader: Any) -> func.HttpResponse:
    """Start the target's sentry unless it is already armed."""
    try:
        settings: Settings = settings_loader()
    except ConfigurationError as exc:
        return json_response(500, {"error": "misconfigured", "setting": exc.setting})
    try:
        request = _arm_request(_read_body(req), settings)
    except InvalidRequest as exc:
        return json_response(400, exc.to_dict())
    instance_id = sentry_instance_id(request.target.id)
    try:
        existing = await _active(client, instance_id)
        if existing is not None:
            return json_response(200, {"outcome": "already armed", **_view(existing)})
        state = SentryState(request=request, config=settings.capture_config())
        await _client_call("start_new", client.start_new(SENTRY_ORCHESTRATOR, instance_id, state.to_dict()))
    except BackendUnavailable as exc:
        if "already exists" in str(exc).lower():  # a concurrent arm won
            return json_response(200, {"outcome": "already armed", "instanceId": instance_id})
        log.warning("durable backend unavailable: %s", exc)
        return json_response(503, {"error": "backend_unavailable", "message": "retry later"})
    sizing = request.sizing
    log.info("armed %s (%s)", request.target.id, instance_id)
    return json_response(202, {"outcome": "armed", "instanceId": instance_id, "target": request.target.id,
                               "lookback_seconds": request.lookback_seconds,
                               "budget_bytes": request.budget_bytes,
                               "file_count": sizing.file_count, "file_size_bytes": sizing.file_size_bytes})


async def disarm(req: func.HttpRequest, client: Any, settings_loader: Any) -> func.HttpResponse:
    """Ask the target's sentry to stop its capture and end."""
    try:
        target_id = _target(_read_body(req), settings_loader()).id
    except InvalidRequest as exc:
        return json_response(400, exc.to_dict())
    except ConfigurationError as exc:
        return json_response(500, {"error": "misconfigured", "setting": exc.setting})
    instance_id = sentry_instance_id(target_id)
    try:
        if await _active(client, instance_id) is None:
            return json_response(404, {"error": "not_armed", "field": "target",
                                       "message": f"{target_id} is not armed"})
        event = client.raise_event(instance_id, DISARM_EVENT, {"target": target_id})
        await _client_call("raise_event", event)
    except BackendUnavailable as exc:
        log.warning("durable backend unavailable: %s", exc)
        return json_response(503, {"error": "backend_unavailable", "message": "retry later"})
    return json_response(202, {"outcome": "disarming", "instanceId": instance_id, "target": target_id})


async def list_armed(client: Any) -> func.HttpResponse:
    """Every active sentry with its published view."""
    try:
        statuses = await _client_call("get_status_by", client.get_status_by(instance_id_prefix=SENTRY_PREFIX))
    except BackendUnavailable as exc:
        log.warning("durable backend unavailable: %s", exc)
        return json_response(503, {"error": "backend_unavailable", "message": "retry later"})
    armed = [_view(s) for s in statuses if _status_name(s) in ACTIVE_RUNTIME_STATUSES]
    return json_response(200, {"sentries": sorted(armed, key=lambda v: str(v.get("target", "")))})
