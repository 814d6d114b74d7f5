"""Fixtures for the CLI tests: a loopback ARM + App Service identity endpoint for the `listkeys` path."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

IDENTITY_SECRET = "identity-header-secret"
TOKEN = "token-for-tests"


@dataclass
class ArmStub:
    """A loopback stand-in for ARM's Microsoft.Web `listkeys` and site GET, plus an identity endpoint."""

    keys: dict = field(default_factory=dict)
    host_name: str = "127.0.0.1:1"
    forbidden_sites: set[str] = field(default_factory=set)
    broken_sites: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/msi/token", self.token)
        app.router.add_post("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{site}"
                            "/host/default/listkeys", self.listkeys)
        app.router.add_get("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{site}",
                           self.site)
        return app

    async def token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-IDENTITY-HEADER") != IDENTITY_SECRET:
            return web.json_response({"error": "bad identity header"}, status=400)
        return web.json_response({"access_token": TOKEN, "expires_on": str(int(time.time()) + 3600),
                                  "resource": request.query.get("resource"), "token_type": "Bearer"})

    def _deny(self, request: web.Request) -> web.Response | None:
        self.calls.append((request.method, request.path, request.query.get("api-version", "")))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": {"code": "InvalidAuthenticationToken", "message": "no"}},
                                     status=401)
        if request.match_info["site"] in self.broken_sites:
            body = {"error": {"code": "InternalServerError", "message": "try again"}}
            return web.json_response(body, status=500)
        if request.match_info["site"] in self.forbidden_sites:
            message = "no authorization to perform action 'Microsoft.Web/sites/host/listkeys/action'"
            body = {"error": {"code": "AuthorizationFailed", "message": message}}
            return web.json_response(body, status=403)
        return None

    async def listkeys(self, request: web.Request) -> web.Response:
        return self._deny(request) or web.json_response(self.keys)

    async def site(self, request: web.Request) -> web.Response:
        return self._deny(request) or web.json_response(
            {"id": request.path, "properties": {"defaultHostName": self.host_name}})


@pytest.fixture
def arm_stub(monkeypatch) -> Iterator[ArmStub]:
    """Serve an ArmStub on 127.0.0.1 (own thread and loop) and point azure-identity and the CLI at it."""
    stub = ArmStub()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(stub.app())
    loop.run_until_complete(runner.setup())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    loop.run_until_complete(site.start())
    stub.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "MSI_ENDPOINT", "MSI_SECRET", "ALERTCAP_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{stub.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_SECRET)
    monkeypatch.setenv("ALERTCAP_ARM_ENDPOINT", stub.url)
    try:
        yield stub
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
