"""A tenant for tests: signing keys the test owns, published by the Entra emulator over HTTPS on loopback.

The server runs on its own thread and loop, so code under test may fetch the keys synchronously (PyJWT's
`PyJWKClient` uses urllib) while the test itself blocks or runs its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devstack.common.server import start_https
from devstack.common.tls import TlsMaterial, ensure_tls
from devstack.common.tokens import TokenIssuer
from devstack.entra.models import AppRegistration, secure_webhook_claims
from devstack.entra.responses import EntraEmulator


class TestTenant:
    """One tenant, its published keys (`keys`, first = current) and its app registration."""

    __test__ = False  # not a pytest test class

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.keys: list[TokenIssuer] = [TokenIssuer(tenant_id)]
        self.registration = AppRegistration.for_tenant(tenant_id)
        self.emulator = EntraEmulator(tenant_id, lambda: list(self.keys))
        self.authority = ""
        self.tls: TlsMaterial | None = None

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Valid secure-webhook claims for the registration's identifier URI, with `changes` applied
        (a value of None removes the claim)."""
        claims = secure_webhook_claims(self.tenant_id, self.registration.identifier_uri)
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, signer: TokenIssuer | None = None, **changes: Any) -> str:
        """A token signed by `signer` (default: the current published key)."""
        return (signer or self.keys[0]).sign(self.claims(**changes))

    def app_settings(self, mode: str) -> dict[str, str]:
        """The function app's WEBHOOK_* settings for this tenant."""
        return {
            "WEBHOOK_AUTH": mode,
            "WEBHOOK_TENANT_ID": self.tenant_id,
            "WEBHOOK_AUDIENCES": f"{self.registration.identifier_uri};{self.registration.client_id}",
            "WEBHOOK_AUTHORITY_HOST": self.authority,
        }


@contextlib.contextmanager
def serving_tenant(tenant_id: str, tls_dir: Path) -> Iterator[TestTenant]:
    """Serve a TestTenant over HTTPS (a certificate of the devstack CA under `tls_dir`) until the block ends.

    Clients must trust `tenant.tls.bundle_path` (e.g. through `SSL_CERT_FILE`).
    """
    tenant = TestTenant(tenant_id)
    tenant.tls = ensure_tls(tls_dir)
    loop = asyncio.new_event_loop()
    runner, port = loop.run_until_complete(
        start_https(tenant.emulator.app, "127.0.0.1", 0, tenant.tls.server_ssl_context()))
    tenant.authority = f"https://127.0.0.1:{port}"
    thread = threading.Thread(target=loop.run_forever, name="entra-test-tenant", daemon=True)
    thread.start()
    try:
        yield tenant
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
