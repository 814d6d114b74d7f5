"""The durable HTTP management API and RPC surface under ``/runtime/webhooks/durabletask``.

As documented in https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-http-api; the
SDK's ``DurableOrchestrationClient`` calls the same handlers through the binding's RPC base URL.
"""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devstack.common.errors import strict_loads
from devstack.host.control import EngineError
from devstack.host.engine import Engine
from devstack.host.errors import json_error
from devstack.host.history import RuntimeStatus, format_ts, parse_ts, utcnow
from devstack.host.http_triggers import presented_key
from devstack.host.keys import HostKeys, basic_auth_password
from devstack.host.status import status_payload
from devstack.host.store import Instance, InstanceFilter, PageKey

PREFIX = "/runtime/webhooks/durabletask"
MAX_INSTANCE_ID = 256
_BAD_ID_CHARS = re.compile(r"[/\\?#\x00-\x1f\x7f]")
DEFAULT_PAGE = 100
MAX_PAGE = 2**31 - 1  # the extension binds `top` to an int32


class BadRequest(Exception):
    """A request the API rejects with 400."""


def validate_instance_id(instance_id: str) -> None:
    """Ids as the extension accepts them."""
    if not instance_id:
        raise BadRequest("instance id must not be empty")
    if instance_id.startswith("@"):
        raise BadRequest(f"invalid instance id '{instance_id}': it may not start with '@'")
    if len(instance_id) > MAX_INSTANCE_ID:
        raise BadRequest(f"invalid instance id: longer than {MAX_INSTANCE_ID} characters")
    if _BAD_ID_CHARS.search(instance_id):
        raise BadRequest(
            f"invalid instance id {instance_id!r}: it may not contain '/', '\\', '?', '#' or "
            "control characters"
        )


def query_flag(request: web.Request, name: str, default: bool) -> bool:
    """A boolean query parameter (``True``/``true``/``1``)."""
    value = request.query.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def wait_seconds(request: web.Request) -> float | None:
    """``timeout`` of a start-and-wait request (with ``pollingInterval``), or None when not waiting."""
    timeout, interval = request.query.get("timeout"), request.query.get("pollingInterval")
    if not (timeout and interval):
        return None
    try:
        seconds, polling = float(timeout), float(interval)
    except ValueError as exc:
        raise BadRequest("timeout and pollingInterval must be numbers of seconds") from exc
    if not (math.isfinite(seconds) and math.isfinite(polling)):
        raise BadRequest("timeout and pollingInterval must be finite numbers of seconds")
    return seconds


def _parse_time(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return format_ts(parse_ts(value))
    except (ValueError, OverflowError) as exc:  # OverflowError: the UTC instant falls outside years 1..9999
        raise BadRequest(f"{name}: not an ISO-8601 time in years 1..9999: {value!r}") from exc


def _filter(request: web.Request) -> InstanceFilter:
    """The instance filter of a listing or purge request (``instanceIdPrefix``, ``createdTimeFrom``/``To``,
    ``runtimeStatus``)."""
    created_from = _parse_time(request, "createdTimeFrom")
    created_to = _parse_time(request, "createdTimeTo")
    statuses = _statuses(request)
    return InstanceFilter(
        id_prefix=request.query.get("instanceIdPrefix") or None,
        created_from=created_from,
        created_to=created_to,
        statuses=frozenset(statuses) if statuses else None,
    )


def _statuses(request: web.Request) -> list[str]:
    raw = request.query.get("runtimeStatus", "")
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    by_lower = {s.lower(): s for s in RuntimeStatus.ALL}
    unknown = [s for s in wanted if s.lower() not in by_lower]
    if unknown:
        raise BadRequest(f"runtimeStatus: unknown status {', '.join(unknown)}")
    return [by_lower[s.lower()] for s in wanted]


async def read_json_body(request: web.Request) -> tuple[bool, Any]:
    """(has body, parsed value); malformed JSON → BadRequest."""
    raw = await request.read()
    if not raw.strip():
        return False, None
    try:
        return True, strict_loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc


class ManagementApi:
    """Handlers for the public management API; the SDK's RPC calls use the same handlers."""

    def __init__(self, engine: Engine, keys: HostKeys, hub_name: str):
        self.engine = engine
        self.keys = keys
        self.hub = hub_name

    def routes(self) -> list[web.RouteDef]:
        """aiohttp routes (with and without a trailing slash where the SDK adds one)."""
        return [
            web.post(PREFIX + "/orchestrators/{function}", self.start),
            web.post(PREFIX + "/orchestrators/{function}/{instance_id}", self.start),
            web.get(PREFIX + "/instances", self.list_instances),
            web.get(PREFIX + "/instances/", self.list_instances),
            web.delete(PREFIX + "/instances", self.purge_many),
            web.delete(PREFIX + "/instances/", self.purge_many),
            web.get(PREFIX + "/instances/{instance_id}", self.get_status),
            web.delete(PREFIX + "/instances/{instance_id}", self.purge),
            web.post(PREFIX + "/instances/{instance_id}/raiseEvent/{event}", self.raise_event),
            web.post(
                PREFIX + "/instances/{instance_id}/{operation:terminate|suspend|resume|rewind}", self.operate
            ),
            web.post(PREFIX + "/instances/{instance_id}/restart", self.restart),
            web.route("*", PREFIX + "/entities{tail:.*}", self.entities),
        ]

    @web.middleware
    async def auth_middleware(self, request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        """System or master key (``code=``, ``x-functions-key`` or basic-auth password) on this prefix."""
        if request.path.startswith(PREFIX + "/") or request.path == PREFIX:
            key = presented_key(request) or basic_auth_password(request.headers.get("Authorization"))
            if not self.keys.allows_system(key):
                return json_error(401, "the durabletask system key or the master key is required")
            try:
                return await handler(request)
            except BadRequest as exc:
                return json_error(400, str(exc), "System.ArgumentException")
            except EngineError as exc:
                return json_error(exc.status, exc.message)
        return await handler(request)

    # payload helpers -----------------------------------------------------------------------------------
    def _links(self, request: web.Request, instance_id: str) -> dict[str, str]:
        base = f"{request.url.origin()}{PREFIX}/instances/{quote(instance_id, safe='')}"
        query = f"taskHub={quote(self.hub)}&connection=Storage&code={self.keys.system_key}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{query}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{base}?{query}",
            "restartPostUri": f"{base}/restart?{query}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
        }

    def _accepted(self, request: web.Request, instance_id: str) -> web.Response:
        links = self._links(request, instance_id)
        return web.json_response(
            links, status=202, headers={"Location": links["statusQueryGetUri"], "Retry-After": "10"}
        )

    async def _wait_or_accept(
        self, request: web.Request, instance_id: str, wait_seconds: float | None
    ) -> web.Response:
        if wait_seconds is None:
            return self._accepted(request, instance_id)
        inst = await self.engine.wait_until_finished(instance_id, wait_seconds)
        if inst is not None and inst.status == RuntimeStatus.COMPLETED:
            return web.Response(status=200, text=inst.output or "null", content_type="application/json")
        if inst is not None and inst.status in RuntimeStatus.TERMINAL:
            return web.json_response(status_payload(inst), status=200)
        return self._accepted(request, instance_id)  # still running (timed out, or the host is stopping)

    # handlers ------------------------------------------------------------------------------------------
    async def start(self, request: web.Request) -> web.Response:
        """POST orchestrators/{function}[/{instance_id}]."""
        instance_id = request.match_info.get("instance_id") or uuid.uuid4().hex
        validate_instance_id(instance_id)
        waiting = wait_seconds(request)
        has_body, value = await read_json_body(request)
        raw_input = json.dumps(value) if has_body else None
        await self.engine.start_instance(
            request.match_info["function"], instance_id, raw_input, request.query.get("version") or None
        )
        return await self._wait_or_accept(request, instance_id, waiting)

    async def get_status(self, request: web.Request) -> web.Response:
        """GET instances/{id}: 202 while running, 200 when finished, 404 (empty body) when unknown."""
        instance_id = request.match_info["instance_id"]
        inst = self.engine.get_instance(instance_id)
        if inst is None:
            return web.Response(status=404)
        show_history = query_flag(request, "showHistory", False) and inst.status != RuntimeStatus.PENDING
        history = self.engine.get_history(instance_id) if show_history else None
        payload = status_payload(
            inst,
            query_flag(request, "showInput", True),
            history,
            query_flag(request, "showHistoryOutput", False),
        )
        if inst.status in RuntimeStatus.TERMINAL:
            failed_500 = inst.status == RuntimeStatus.FAILED and query_flag(
                request, "returnInternalServerErrorOnFailure", False
            )
            return web.json_response(payload, status=500 if failed_500 else 200)
        return web.json_response(
            payload, status=202, headers={"Location": str(request.url), "Retry-After": "5"}
        )

    async def list_instances(self, request: web.Request) -> web.Response:
        """GET instances with filters, ``top`` and ``x-ms-continuation-token`` paging."""
        where = _filter(request)
        try:
            top = int(request.query.get("top") or DEFAULT_PAGE)
        except ValueError as exc:
            raise BadRequest("top must be an integer") from exc
        if not 0 < top <= MAX_PAGE:  # beyond SQLite's 64-bit LIMIT it would be a 500
            raise BadRequest(f"top must be between 1 and {MAX_PAGE}")
        token = request.headers.get("x-ms-continuation-token")
        after = _decode_token(token) if token and token != "null" else None
        rows = self.engine.list_instances(where, after, limit=top + 1)
        page, more = rows[:top], len(rows) > top
        show_input = query_flag(request, "showInput", True)
        response = web.json_response([status_payload(i, show_input) for i in page])
        if more:
            response.headers["x-ms-continuation-token"] = _encode_token(page[-1])
        return response

    async def purge(self, request: web.Request) -> web.Response:
        """DELETE instances/{id}: only a terminal instance; otherwise 412 with the extension's JSON string
        (HttpApiHandler.HandleDeleteHistoryByIdRequestAsync in Azure/azure-functions-durable-extension)."""
        inst = self.engine.get_instance(request.match_info["instance_id"])
        if inst is not None and inst.status not in RuntimeStatus.TERMINAL:
            return web.json_response(
                "Only orchestrations in a terminal state can be purged, but the orchestration with instance "
                f"ID {inst.instance_id} has status {inst.status}",
                status=412,
            )
        deleted = self.engine.purge(request.match_info["instance_id"])
        if not deleted:
            return json_error(404, f"No instance with ID '{request.match_info['instance_id']}' found.")
        return web.json_response({"instancesDeleted": deleted})

    async def purge_many(self, request: web.Request) -> web.Response:
        """DELETE instances?createdTimeFrom=... (terminal instances only)."""
        if not request.query.get("createdTimeFrom"):
            raise BadRequest("createdTimeFrom is required to purge instance history")
        where = _filter(request)
        if where.created_to is None:
            where = replace(where, created_to=format_ts(utcnow()))
        deleted = self.engine.purge_many(where)
        if not deleted:
            return json_error(404, "No instances matched the purge filter.")
        return web.json_response({"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request) -> web.Response:
        """POST instances/{id}/raiseEvent/{event}: needs application/json; EventRaised.Input = json(body)."""
        if request.content_type != "application/json":
            raise BadRequest("Only application/json request content is supported")
        _, value = await read_json_body(request)
        self.engine.raise_event(
            request.match_info["instance_id"], request.match_info["event"], json.dumps(value)
        )
        return web.Response(status=202)

    async def operate(self, request: web.Request) -> web.Response:
        """POST instances/{id}/terminate|suspend|resume|rewind?reason=..."""
        instance_id, operation = request.match_info["instance_id"], request.match_info["operation"]
        reason = request.query.get("reason", "")
        getattr(self.engine, operation)(instance_id, reason)
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        """POST instances/{id}/restart[?restartWithNewInstanceId=true]: same name and input."""
        old = self.engine.get_instance(request.match_info["instance_id"])
        if old is None:  # the extension answers 400; the installed SDK expects 404 (and names it)
            raise EngineError(404, f"No instance with ID '{request.match_info['instance_id']}' found.")
        new_id = (
            uuid.uuid4().hex if query_flag(request, "restartWithNewInstanceId", True) else old.instance_id
        )
        waiting = wait_seconds(request)
        await self.engine.start_instance(old.name, new_id, old.input, old.version)
        return await self._wait_or_accept(request, new_id, waiting)

    async def entities(self, request: web.Request) -> web.Response:
        """Durable entities are not part of this host."""
        return json_error(
            501, "Durable entities are not supported by the devstack host", "System.NotSupportedException"
        )


def _encode_token(last: Instance) -> str:
    raw = json.dumps([last.created_time, last.instance_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str) -> PageKey:
    try:
        created, last_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return PageKey(str(created), str(last_id))
    except (ValueError, TypeError) as exc:
        raise BadRequest("x-ms-continuation-token is not a token this host issued") from exc
