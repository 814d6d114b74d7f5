"""JSON error responses (ASP.NET HttpError shape, which the Python durable client reads)."""

from __future__ import annotations

import json
import logging

from aiohttp import web

log = logging.getLogger("devstack.host.http")


def json_error(
    status: int, message: str, exception_type: str = "System.InvalidOperationException"
) -> web.Response:
    """``{"Message", "ExceptionMessage", "ExceptionType", "StackTrace"}`` with the given status."""
    body = {
        "Message": message,
        "ExceptionMessage": message,
        "ExceptionType": exception_type,
        "StackTrace": None,
    }
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


@web.middleware
async def json_errors_middleware(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """Turn aiohttp's own HTTP errors (413, 404, 405, ...) into JSON bodies; never leak a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            return json_error(413, f"request body too large: {exc.text or ''}".strip())
        return json_error(exc.status, exc.reason)
    except Exception as exc:  # a host bug must not take the server down or leak a traceback to the caller
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, f"internal host error: {type(exc).__name__}")
