"""Error responses in the ARM shape `{"error": {"code", "message"}}`, used by every emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

# What strict_loads raises on a bad body: bad bytes, bad syntax (NaN/Infinity included), or nesting deeper
# than the parser recurses.
JSON_ERRORS = (UnicodeDecodeError, ValueError, RecursionError)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def strict_loads(data: str | bytes) -> object:
    """``json.loads`` without Python's NaN/Infinity/-Infinity extension (Azure's services reject them)."""
    return json.loads(data, parse_constant=_reject_constant)


class ApiError(Exception):
    """An error that a handler raises and the error middleware turns into an ARM-shaped response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.target = status, code, message, target
        self.headers = headers or {}

    def response(self) -> web.Response:
        """This error as an HTTP response."""
        return arm_error(self.status, self.code, self.message, target=self.target, headers=self.headers)


def error_body(code: str, message: str, target: str | None = None) -> dict:
    """The ARM error body."""
    error: dict[str, str] = {"code": code, "message": message}
    if target:
        error["target"] = target
    return {"error": error}


def arm_error(
    status: int, code: str, message: str, target: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """An ARM-shaped JSON error response, with the `x-ms-error-code` header ARM sends."""
    all_headers = {"x-ms-error-code": code, "x-ms-request-id": str(uuid.uuid4()), **(headers or {})}
    return web.Response(
        status=status,
        text=json.dumps(error_body(code, message, target)),
        content_type="application/json",
        headers=all_headers,
    )


def bad_request(message: str, code: str = "InvalidRequestContent", target: str | None = None) -> ApiError:
    """A 400 naming what is wrong."""
    return ApiError(400, code, message, target)


def not_found(message: str, code: str = "ResourceNotFound") -> ApiError:
    """A 404."""
    return ApiError(404, code, message)


async def read_body(
    request: web.Request, max_bytes: int, too_large: Callable[[str], ApiError] | None = None
) -> bytes:
    """The whole request body (a body arrives in several chunks: `content.read(n)` returns only what is
    buffered); `too_large(message)` (default: 413 RequestEntityTooLarge) when it exceeds `max_bytes`."""
    too_large = too_large or (lambda message: ApiError(413, "RequestEntityTooLarge", message))
    message = f"The request body is larger than {max_bytes} bytes."
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(message)
    body = bytearray()
    while chunk := await request.content.read(max_bytes + 1 - len(body)):
        body += chunk
        if len(body) > max_bytes:
            raise too_large(message)
    return bytes(body)


async def read_json(request: web.Request, max_bytes: int = 1 << 20, required: bool = True) -> object:
    """The request body as JSON: 413 when over `max_bytes`, 400 when not JSON (or empty and required)."""
    body = await read_body(request, max_bytes)
    if not body.strip():
        if required:
            raise bad_request("The request body is empty; a JSON object is required.")
        return None
    try:
        return strict_loads(body)
    except JSON_ERRORS as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.", code="InvalidJson") from exc


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn `ApiError` and aiohttp's HTTP exceptions into ARM errors, and any other exception into a 500
    without a traceback (the server keeps serving)."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except ConnectionResetError:  # the client went away, or a fault dropped the connection on purpose
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}.get(
            exc.status, exc.reason
        )
        return arm_error(exc.status, code.replace(" ", ""), exc.text or exc.reason)
    except Exception:
        request.app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return arm_error(500, "InternalServerError", "The server encountered an internal error.")
