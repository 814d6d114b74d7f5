"""The token endpoint of the managed identity emulator."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from devstack.common.context import StackContext
from devstack.common.errors import error_middleware

IDENTITY_PATH = "/msi/token"
SUPPORTED_API_VERSIONS = ("2019-08-01",)
TOKEN_LIFETIME_SECONDS = 24 * 3600  # App Service hands out day-long tokens


def _error(status: int, message: str) -> web.Response:
    """App Service's error shape, which MSAL reads as `statusCode` + `message`."""
    return web.json_response(
        {"statusCode": status, "message": message, "correlationId": secrets.token_hex(8)}, status=status
    )


def _valid_resource(resource: str) -> bool:
    if any(ord(ch) < 0x21 for ch in resource):  # control characters and spaces
        return False
    try:
        parts = urlsplit(resource)
    except ValueError:  # e.g. an unclosed IPv6 bracket: `https://[::1`
        return False
    if parts.scheme in ("https", "api") and parts.netloc:
        return True
    return len(resource) == 36 and resource.count("-") == 4  # an application id (GUID)


class IdentityEmulator:
    """Issues JWTs for the function app's system-assigned identity to holders of the identity header."""

    def __init__(self, ctx: StackContext, identity_header: str | None = None) -> None:
        self.ctx = ctx
        self.identity_header = identity_header or secrets.token_urlsafe(24)
        self.app = web.Application(middlewares=[error_middleware, ctx.faults.middleware("identity")])
        self.app.router.add_get(IDENTITY_PATH, self.get_token, name="ManagedIdentity_GetToken")
        self.tokens_issued = 0

    async def get_token(self, request: web.Request) -> web.Response:
        """GET /msi/token?api-version=2019-08-01&resource=..."""
        presented = request.headers.get("X-IDENTITY-HEADER", "")
        presented_bytes = presented.encode("utf-8", "surrogateescape")  # aiohttp keeps undecodable bytes
        if not presented or not hmac.compare_digest(presented_bytes, self.identity_header.encode()):
            return _error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
        api_version = request.query.get("api-version")
        if api_version not in SUPPORTED_API_VERSIONS:
            return _error(
                400, f"Unsupported api-version {api_version!r}; use one of {SUPPORTED_API_VERSIONS}."
            )
        resource = request.query.get("resource", "").strip()
        if not resource:
            return _error(400, "The 'resource' query parameter is required.")
        if not _valid_resource(resource):
            return _error(400, f"The resource {resource!r} is not a valid resource URI or application id.")
        principal = self.ctx.config.principal_id
        for selector in ("client_id", "object_id", "mi_res_id", "principal_id"):
            wanted = request.query.get(selector)
            if wanted is not None and wanted.lower() != principal:
                return _error(400, f"No managed identity with {selector} {wanted!r} is assigned to this app.")
        issued = self.ctx.tokens.issue(principal, resource, TOKEN_LIFETIME_SECONDS)
        self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": issued.token,
                "expires_on": str(issued.expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": principal,
            }
        )
