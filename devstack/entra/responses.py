"""The HTTP side of the Entra emulator: discovery documents and key sets per tenant."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from devstack.common.errors import error_middleware
from devstack.common.faults import FaultInjector
from devstack.common.tokens import TokenIssuer
from devstack.entra.models import discovery_document

SigningKeys = Callable[[], Sequence[TokenIssuer]]


def _aadsts_error(status: int, code: str, description: str) -> web.Response:
    """Entra's error body (`error`, `error_description` starting with the AADSTS code, ...)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return web.json_response({
        "error": "invalid_tenant", "error_description": f"{code}: {description} Timestamp: {now}",
        "error_codes": [int(code.removeprefix("AADSTS"))], "timestamp": now,
        "trace_id": secrets.token_hex(16), "correlation_id": secrets.token_hex(16),
    }, status=status)


class EntraEmulator:
    """Serves `/<tenant>/v2.0/.well-known/openid-configuration` and `/<tenant>/discovery/v2.0/keys` (and the
    v1 paths) for one tenant; `keys()` lists the signing keys published (tests rotate keys through it)."""

    def __init__(self, tenant_id: str, keys: SigningKeys, faults: FaultInjector | None = None) -> None:
        self.tenant_id = tenant_id.lower()
        self._keys = keys
        self.jwks_requests = 0
        self.discovery_requests = 0
        middlewares = [error_middleware] + ([faults.middleware("entra")] if faults else [])
        self.app = web.Application(middlewares=middlewares)
        router = self.app.router
        router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery,
                       name="Entra_Discovery")
        router.add_get("/{tenant}/.well-known/openid-configuration", self.discovery, name="Entra_DiscoveryV1")
        router.add_get("/{tenant}/discovery/v2.0/keys", self.jwks, name="Entra_Keys")
        router.add_get("/{tenant}/discovery/keys", self.jwks, name="Entra_KeysV1")

    def _unknown_tenant(self, request: web.Request) -> web.Response | None:
        if request.match_info["tenant"].lower() == self.tenant_id:
            return None
        return _aadsts_error(400, "AADSTS90002", f"Tenant '{request.match_info['tenant']}' not found.")

    async def discovery(self, request: web.Request) -> web.Response:
        """GET .../.well-known/openid-configuration."""
        if (error := self._unknown_tenant(request)) is not None:
            return error
        self.discovery_requests += 1
        base = f"{request.scheme}://{request.host}"
        return web.json_response(discovery_document(base, self.tenant_id))

    async def jwks(self, request: web.Request) -> web.Response:
        """GET .../discovery/v2.0/keys: the tenant's public signing keys."""
        if (error := self._unknown_tenant(request)) is not None:
            return error
        self.jwks_requests += 1
        return web.json_response({"keys": [issuer.public_jwk() for issuer in self._keys()]})
