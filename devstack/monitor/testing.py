"""Test helpers for the monitor: a real webhook receiver on loopback and a settable counter source."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devstack.monitor.targets import MetricTarget


@dataclass
class ReceivedCall:
    """One POST the receiver got."""

    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class WebhookReceiver:
    """An aiohttp server on 127.0.0.1:0 answering each POST with the next scripted status (then 202).

    `hang_seconds` makes the next N calls wait that long before answering (to provoke client timeouts).
    """

    statuses: list[int] = field(default_factory=list)
    hangs: list[float] = field(default_factory=list)
    calls: list[ReceivedCall] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self, path: str = "/api/alerts") -> str:
        """Start serving; returns the webhook URL."""
        app = web.Application()
        app.router.add_post(path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{path}"
        return self.url

    async def stop(self) -> None:
        """Stop serving and free the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def script(self, statuses: Iterable[int]) -> None:
        """Answer the next calls with these statuses, in order."""
        self.statuses.extend(statuses)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(ReceivedCall(dict(request.query), dict(request.headers), body))
        if self.hangs:
            await asyncio.sleep(self.hangs.pop(0))
        status = self.statuses.pop(0) if self.statuses else 202
        if status == 202:
            return web.json_response({"runs": [{"id": f"run-{len(self.calls)}"}]}, status=202)
        error = {"code": "Scripted", "message": f"scripted {status}"}
        return web.json_response({"error": error}, status=status)


class SettableCounters:
    """A counter source whose values the test sets: `counters.set("vm-demo", "TcpSegmentsSent", 150)`."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], int] = {}

    def set(self, vm_name: str, metric: str, value: int) -> None:
        """Make the next reads of (vm, metric) return `value`."""
        self.values[(vm_name, metric)] = value

    def add(self, vm_name: str, metric: str, delta: int) -> None:
        """Grow the counter by `delta`."""
        key = (vm_name, metric)
        self.values[key] = self.values.get(key, 0) + delta

    async def read(self, target: MetricTarget, metric: str) -> int:
        """The value the test set (0 when never set)."""
        return self.values.get((target.name, metric), 0)


class ManualClock:
    """Time that moves only when the test says so (epoch seconds)."""

    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        """The current time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += seconds


class SleepRecorder:
    """A `sleep` for retry delays that records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)
