"""Fault injection, unit-level and through a real HTTPS aiohttp server on loopback."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from devstack.common.errors import error_middleware
from devstack.common.faults import Fault, FaultInjector, FaultSpecError
from devstack.common.server import start_https
from devstack.common.tls import ensure_tls


def test_count_fault_fires_the_next_n_calls_only() -> None:
    faults = FaultInjector()
    faults.add({"service": "arm", "operation": "PacketCaptures_Create", "status": 500, "count": 2})
    fired = [faults.pick("arm", "PacketCaptures_Create") is not None for _ in range(4)]
    assert fired == [True, True, False, False]
    assert faults.pick("arm", "PacketCaptures_Get") is None
    assert faults.pick("acs", "PacketCaptures_Create") is None


def test_ratio_fault_fires_that_share_of_calls() -> None:
    faults = FaultInjector()
    faults.add({"operation": "*", "status": 503, "ratio": 0.25})
    fired = sum(faults.pick("arm", f"op{i}") is not None for i in range(100))
    assert fired == 25


def test_exact_match_beats_wildcard_and_clear() -> None:
    faults = FaultInjector()
    faults.add({"status": 500})
    faults.add({"service": "arm", "operation": "x", "status": 429, "retry_after": 1})
    picked = faults.pick("arm", "X")
    assert picked is not None and picked.status == 429
    assert faults.clear(service="arm") == 1
    picked = faults.pick("arm", "x")
    assert picked is not None and picked.status == 500
    assert faults.clear() == 1 and faults.list() == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "at least one"),
        ({"status": 200}, "status must be between"),
        ({"status": "500"}, "status must be an integer"),
        ({"status": 500, "count": 1, "ratio": 0.5}, "count and ratio"),
        ({"status": 500, "drop": True}, "cannot be combined"),
        ({"retry_after": 1, "delay": 1}, "retry_after needs a status"),
        ({"status": 500, "ratio": 2}, "ratio must be between"),
        ({"status": 500, "bogus": 1}, "unknown fault field 'bogus'"),
        ([], "JSON object"),
    ],
)
def test_bad_specs_are_rejected(spec: object, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        Fault.from_dict(spec)  # type: ignore[arg-type]


@pytest.fixture
async def server(tmp_path: Path):
    tls = ensure_tls(tmp_path / "tls")
    faults = FaultInjector()

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[error_middleware, faults.middleware("arm")])
    app.router.add_get("/thing", ok, name="Things_Get")
    runner, port = await start_https(app, ssl_ctx=tls.server_ssl_context())
    async with httpx.AsyncClient(
        base_url=f"https://127.0.0.1:{port}", verify=tls.client_ssl_context()
    ) as client:
        yield faults, client
    await runner.cleanup()


async def test_status_fault_with_retry_after_in_arm_shape(server) -> None:
    faults, client = server
    faults.add({"service": "arm", "operation": "Things_Get", "status": 429, "retry_after": 2, "count": 1})
    first = await client.get("/thing")
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert first.json()["error"]["code"] == "TooManyRequests"
    second = await client.get("/thing")
    assert second.status_code == 200 and second.json() == {"ok": True}


async def test_status_fault_without_retry_after(server) -> None:
    faults, client = server
    faults.add({"operation": "Things_Get", "status": 503, "count": 1})
    response = await client.get("/thing")
    assert response.status_code == 503 and "Retry-After" not in response.headers


async def test_delay_fault_delays_then_serves(server) -> None:
    faults, client = server
    faults.add({"operation": "Things_Get", "delay": 0.3, "count": 1})
    started = time.monotonic()
    response = await client.get("/thing")
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


async def test_drop_fault_closes_the_connection_and_server_keeps_serving(server) -> None:
    faults, client = server
    faults.add({"operation": "Things_Get", "drop": True, "count": 1})
    with pytest.raises(httpx.TransportError):
        await client.get("/thing")
    response = await client.get("/thing")
    assert response.status_code == 200


async def test_unknown_route_is_an_arm_404(server) -> None:
    faults, client = server
    faults.add({"status": 500})  # wildcard faults do not apply to unmatched routes
    response = await client.get("/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NotFound"
    await asyncio.sleep(0)
