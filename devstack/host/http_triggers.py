"""HTTP-triggered functions on ``/<routePrefix>/<route>``: route templates, auth levels, request/response."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devstack.host.activities import InvocationContext
from devstack.host.errors import json_error
from devstack.host.keys import HostKeys
from devstack.host.loader import HttpFunction

log = logging.getLogger("devstack.host.http")

CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
}
_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?(?:=[^}]*)?\}$")


def compile_route(template: str) -> re.Pattern[str]:
    """Translate an ASP.NET-style route template (``a/{id:int?}/{*rest}``) into a regex."""
    pattern = ""
    for segment in [s for s in template.strip("/").split("/") if s]:
        match = _PARAM.match(segment)
        if not match:
            if "{" in segment:
                raise ValueError(f"unsupported route segment {segment!r} in {template!r}")
            pattern += "/" + re.escape(segment)
            continue
        catch_all, name, constraint, optional = match.groups()
        body = ".*" if catch_all else CONSTRAINTS.get((constraint or "").lower(), r"[^/]+")
        pattern += f"(?:/(?P<{name}>{body}))?" if optional or catch_all else f"/(?P<{name}>{body})"
    return re.compile(f"^{pattern}/?$", re.IGNORECASE)


@dataclass(frozen=True)
class HttpRoute:
    """A compiled HTTP function."""

    function: HttpFunction
    pattern: re.Pattern[str]


def presented_key(request: web.Request) -> str | None:
    """The key in ``code=`` or ``x-functions-key``."""
    return request.query.get("code") or request.headers.get("x-functions-key")


class HttpTriggers:
    """Dispatches ``/<prefix>/...`` requests to HTTP functions."""

    def __init__(
        self,
        functions: list[HttpFunction],
        keys: HostKeys,
        client_binding: Any,
        timeout_seconds: float | None,
        app_dir: str,
    ):
        self.routes = [HttpRoute(f, compile_route(f.route)) for f in functions]
        self.keys = keys
        self.client_binding = client_binding
        self.timeout = timeout_seconds
        self.app_dir = app_dir

    def match(self, path: str, method: str) -> tuple[HttpRoute | None, dict[str, str], bool]:
        """(route, route params, path matched some route)."""
        path_matched = False
        for route in self.routes:
            found = route.pattern.match("/" + path.strip("/") if path.strip("/") else "")
            if found:
                path_matched = True
                if method in route.function.methods:
                    params = {k: v for k, v in found.groupdict().items() if v is not None}
                    return route, params, True
        return None, {}, path_matched

    def authorized(self, function: HttpFunction, request: web.Request) -> bool:
        """Azure's authLevel rules."""
        if function.auth_level == "anonymous":
            return True
        key = presented_key(request)
        if function.auth_level == "admin":
            return self.keys.is_master(key)
        return self.keys.allows_function(key)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Route, authorise and invoke."""
        route, params, path_matched = self.match(request.match_info.get("tail", ""), request.method)
        if route is None:
            if path_matched:
                return json_error(405, f"method {request.method} is not allowed on this route")
            return json_error(404, f"no function is bound to {request.path}")
        if not self.authorized(route.function, request):
            return json_error(401, "a valid function key is required (code= or x-functions-key)")
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=params,
            body=body,
        )
        try:
            result = await self._invoke(route.function, http_request)
        except Exception as exc:
            log.exception("http function %s failed", route.function.name)
            return json_error(500, f"function '{route.function.name}' failed: {type(exc).__name__}: {exc}")
        return to_web_response(result)

    async def _invoke(self, function: HttpFunction, http_request: func.HttpRequest) -> Any:
        kwargs: dict[str, Any] = {function.request_param: http_request}
        if function.client_param:
            kwargs[function.client_param] = self.client_binding()
        if function.context_param:
            kwargs[function.context_param] = InvocationContext(function.name, self.app_dir)
        if asyncio.iscoroutinefunction(function.fn):
            pending = function.fn(**kwargs)
        else:
            pending = asyncio.get_running_loop().run_in_executor(
                None, functools.partial(function.fn, **kwargs)
            )
        return await asyncio.wait_for(pending, self.timeout)


def to_web_response(result: Any) -> web.Response:
    """``func.HttpResponse`` (or a plain value, as the worker's http converter allows) → aiohttp response."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-length"}
        content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None)
        if content_type is None and result.mimetype:
            content_type = (
                f"{result.mimetype}; charset={result.charset}" if result.charset else result.mimetype
            )
        response = web.Response(status=result.status_code, body=result.get_body(), headers=headers)
        if content_type:
            response.headers["Content-Type"] = content_type
        return response
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes):
        return web.Response(body=result, content_type="application/octet-stream")
    if isinstance(result, str):
        return web.Response(text=result, content_type="text/plain")
    return web.Response(text=json.dumps(result), content_type="application/json")
