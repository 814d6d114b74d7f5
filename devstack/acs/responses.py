"""HTTP handlers of the ACS Email emulator: parse, call one backend method, serialise."""

from __future__ import annotations

from aiohttp import web

from devstack.acs.auth import authenticate
from devstack.acs.exceptions import BadRequest, PayloadTooLarge
from devstack.acs.models import MAX_REQUEST_BYTES, EmailBackend
from devstack.common.context import StackContext
from devstack.common.errors import JSON_ERRORS, read_body, strict_loads

READ_ACTION = "Microsoft.Communication/CommunicationServices/Read"
# Sending with a Microsoft Entra identity needs the three actions of the custom role ACS documents for it
# (Communication Services Read and Write, Email Services write), held on the Communication Services resource.
SEND_ACTIONS = (
    READ_ACTION,
    "Microsoft.Communication/CommunicationServices/Write",
    "Microsoft.Communication/EmailServices/write",
)


def _api_version(request: web.Request) -> str:
    version = request.query.get("api-version")
    if not version:
        raise BadRequest("The api-version query parameter is required.", "api-version")
    return version


class EmailResponses:
    """`Email_Send` and `Email_GetSendResult`."""

    def __init__(self, ctx: StackContext, backend: EmailBackend) -> None:
        self.ctx, self.backend = ctx, backend

    async def _body(self, request: web.Request) -> bytes:
        return await read_body(request, MAX_REQUEST_BYTES, PayloadTooLarge)

    async def send(self, request: web.Request) -> web.Response:
        """POST /emails:send?api-version=... → 202 + Operation-Location."""
        body = await self._body(request)
        caller = authenticate(request, body, self.ctx, SEND_ACTIONS)
        version = _api_version(request)
        try:
            message = strict_loads(body) if body.strip() else None
        except JSON_ERRORS as exc:
            raise BadRequest(f"The request body is not valid JSON: {exc}.") from exc
        if message is None:
            raise BadRequest("The request body is empty; an EmailMessage is required.")
        record = self.backend.send(message, request.headers.get("Operation-Id"), caller, len(body))
        location = f"{request.scheme}://{request.host}/emails/operations/{record.id}?api-version={version}"
        headers = {"Operation-Location": location, "Operation-Id": record.id, "x-ms-request-id": record.id}
        if self.backend.retry_after is not None and record.status == "Running":
            headers["retry-after"] = str(self.backend.retry_after)
        return web.json_response(record.status_body(), status=202, headers=headers)

    async def get_send_result(self, request: web.Request) -> web.Response:
        """GET /emails/operations/{operationId}?api-version=... → 200 EmailSendResult."""
        body = await self._body(request)
        authenticate(request, body, self.ctx, (READ_ACTION,))
        _api_version(request)
        record = self.backend.poll(request.match_info["operation_id"])
        headers = {}
        if self.backend.retry_after is not None and record.status == "Running":
            headers["retry-after"] = str(self.backend.retry_after)
        return web.json_response(record.status_body(), headers=headers)
