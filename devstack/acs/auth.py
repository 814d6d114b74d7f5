"""Request authentication for the ACS emulator: HMAC-SHA256 (connection string) or Entra ID bearer tokens.

HMAC, as azure-communication-email's `HMACCredentialsPolicy` signs it:
`string_to_sign = VERB + "\n" + path_and_query + "\n" + x-ms-date + ";" + host + ";" + x-ms-content-sha256`,
signature = base64(HMAC-SHA256(base64decode(access key), string_to_sign)), sent as
`Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<sig>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from aiohttp import web

from devstack.acs.exceptions import Forbidden, Unauthorized
from devstack.common.context import StackContext
from devstack.common.tokens import TokenError, bearer_token

ACS_AUDIENCES = ("https://communication.azure.com",)
MAX_CLOCK_SKEW_SECONDS = 15 * 60
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"


@dataclass(frozen=True)
class Caller:
    """Who made an authenticated request: `hmac` (the access key) or `bearer` with a principal id."""

    scheme: str
    principal_id: str | None = None


def _sign(key: bytes, value: str) -> str:
    return base64.b64encode(
        hmac.new(key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    ).decode()


def verify_hmac(request: web.Request, body: bytes, access_key: str) -> Caller:
    """Check an HMAC-SHA256 request signature, the body hash and the date; Unauthorized if anything is off."""
    header = request.headers.get("Authorization", "")
    params = dict(part.split("=", 1) for part in header[len("HMAC-SHA256 ") :].split("&") if "=" in part)
    if params.get("SignedHeaders", "").lower() != SIGNED_HEADERS or not params.get("Signature"):
        raise Unauthorized(f"The HMAC Authorization header must sign '{SIGNED_HEADERS}'.")
    date, content_hash = request.headers.get("x-ms-date", ""), request.headers.get("x-ms-content-sha256", "")
    if not date or not content_hash:
        raise Unauthorized("The x-ms-date and x-ms-content-sha256 headers are required.")
    try:
        sent_at = parsedate_to_datetime(date)
    except (TypeError, ValueError) as exc:
        raise Unauthorized("The x-ms-date header is not an RFC 1123 date.") from exc
    if sent_at.tzinfo is None or abs((datetime.now(UTC) - sent_at).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        raise Unauthorized("The x-ms-date header is more than 15 minutes away from the server time.")
    if base64.b64encode(hashlib.sha256(body).digest()).decode() != content_hash:
        raise Unauthorized("The x-ms-content-sha256 header does not match the request body.")
    key = base64.b64decode(access_key)
    candidates = {request.raw_path, unquote(request.raw_path)}
    for path in candidates:
        expected = _sign(key, f"{request.method.upper()}\n{path}\n{date};{request.host};{content_hash}")
        if hmac.compare_digest(expected.encode(), params["Signature"].encode("utf-8", "surrogateescape")):
            return Caller("hmac")
    raise Unauthorized("The HMAC signature is invalid.")


def verify_bearer(request: web.Request, ctx: StackContext, actions: tuple[str, ...], scope: str) -> Caller:
    """Check a bearer token (audience ACS) and that its principal may perform every one of `actions` on
    `scope` (the first one missing is named in the 403)."""
    try:
        claims = ctx.tokens.verify(bearer_token(request.headers.get("Authorization")), ACS_AUDIENCES)
    except TokenError as exc:
        raise Unauthorized(exc.message) from exc
    for action in actions:
        if not ctx.rbac.check(claims.principal_id, action, scope):
            raise Forbidden(
                f"The principal '{claims.principal_id}' does not have authorization to perform action "
                f"'{action}' over scope '{scope}'."
            )
    return Caller("bearer", claims.principal_id)


def authenticate(request: web.Request, body: bytes, ctx: StackContext, actions: tuple[str, ...]) -> Caller:
    """Authenticate by whichever scheme the Authorization header uses."""
    acs = ctx.config.communication_service
    assert acs is not None
    header = request.headers.get("Authorization", "")
    if header.startswith("HMAC-SHA256 "):
        return verify_hmac(request, body, acs.key)
    if not header:
        raise Unauthorized("The request has no Authorization header (HMAC-SHA256 or Bearer).")
    return verify_bearer(request, ctx, actions, acs.id)
