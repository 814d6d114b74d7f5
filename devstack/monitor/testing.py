"""Test helpers for the monitor: a real webhook receiver on loopback and a settable counter source."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterable, Iterator
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


@dataclass(frozen=True)
class ScratchNamespace:
    """A throw-away namespace with a veth to the root namespace (outer `.1`, inner `.2` of a /30)."""

    name: str
    outer_interface: str
    outer_ip: str
    inner_ip: str


@contextlib.contextmanager
def scratch_namespace(tag: str = "mon") -> Iterator[ScratchNamespace]:
    """Create a namespace + veth for a test and always delete them afterwards (needs root)."""
    suffix = f"{os.getpid() % 100000}"
    ns = ScratchNamespace(name=f"alertcap-t{tag}{suffix}", outer_interface=f"vt{tag}{suffix}"[:15],
                          outer_ip="10.231.255.253", inner_ip="10.231.255.254")
    inner_tmp = f"{ns.outer_interface[:14]}i"
    commands = [
        ["netns", "add", ns.name],
        ["link", "add", ns.outer_interface, "type", "veth", "peer", "name", inner_tmp],
        ["link", "set", inner_tmp, "netns", ns.name],
        ["-n", ns.name, "link", "set", inner_tmp, "name", "eth0"],
        ["addr", "add", f"{ns.outer_ip}/30", "dev", ns.outer_interface],
        ["link", "set", ns.outer_interface, "up"],
        ["-n", ns.name, "addr", "add", f"{ns.inner_ip}/30", "dev", "eth0"],
        ["-n", ns.name, "link", "set", "eth0", "up"],
        ["-n", ns.name, "link", "set", "lo", "up"],
    ]
    try:
        for args in commands:
            subprocess.run(["ip", *args], check=True, capture_output=True, text=True)
        yield ns
    finally:
        subprocess.run(["ip", "link", "del", ns.outer_interface], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)
