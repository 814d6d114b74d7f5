"""Keep the devstack's child processes (the function host, Azurite) running: restart a crashed child with
backoff, on the same port, and say why in the log; report each part's state for `/_devstack/health`.

    supervisor = Supervisor(log)
    supervisor.watch("host", lambda: stack._host, restart=stack._restart_host)
    ...
    supervisor.health()   # {"host": {"state": "running", "pid": 123, "restarts": 1, ...}}
    await supervisor.stop()  # before stopping the children, so nothing is restarted while going down
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.common.process import pid_alive
from devstack.common.tasks import cancel_and_wait

RUNNING = "running"
RESTARTING = "restarting"
STOPPED = "stopped"
FIRST_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 10.0
STABLE_AFTER_SECONDS = 30.0  # a child that stayed up this long starts again from the first backoff


def exit_reason(code: int | None) -> str:
    """A readable reason for a child's exit status (``killed by SIGKILL``, ``exited with code 1``)."""
    if code is None:
        return "exit status unknown"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Child:
    """One supervised child: how to find its current process and how to start it again."""

    name: str
    process: Callable[[], asyncio.subprocess.Process | None]
    restart: Callable[[], Awaitable[None]]
    state: str = RUNNING
    restarts: int = 0
    last_exit: str = ""
    last_error: str = ""
    started_at: float = field(default_factory=time.monotonic)

    def to_dict(self) -> dict[str, Any]:
        """The health entry of this child."""
        process = self.process()
        return {"state": self.state, "pid": process.pid if process and self.state == RUNNING else None,
                "restarts": self.restarts, "last_exit": self.last_exit or None,
                "last_error": self.last_error or None}


class Supervisor:
    """Watches children and restarts them when they exit while the devstack is up."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.children: dict[str, Child] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def watch(self, name: str, process: Callable[[], asyncio.subprocess.Process | None],
              restart: Callable[[], Awaitable[None]]) -> None:
        """Supervise a running child; ``restart`` must start it again on the same port (and raise if not)."""
        child = Child(name, process, restart)
        self.children[name] = child
        self._tasks.append(asyncio.create_task(self._keep_alive(child), name=f"supervise-{name}"))

    def health(self) -> dict[str, dict[str, Any]]:
        """Each supervised child's state."""
        return {name: child.to_dict() for name, child in self.children.items()}

    async def _keep_alive(self, child: Child) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stopping:
            process = child.process()
            if process is None:
                return
            code = await process.wait()
            if self._stopping:
                return
            child.state, child.last_exit = RESTARTING, exit_reason(code)
            if time.monotonic() - child.started_at >= STABLE_AFTER_SECONDS:
                backoff = FIRST_BACKOFF_SECONDS
            while not self._stopping:
                self.log(f"devstack: {child.name} (pid {process.pid}) {child.last_exit}; "
                         f"restarting it in {backoff:.1f} s")
                await asyncio.sleep(backoff)  # the restart backoff itself, not a synchronisation
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                if self._stopping:
                    return
                try:
                    await child.restart()
                except Exception as exc:  # keep trying: the port may still be held, Node may be slow
                    child.last_error = f"{type(exc).__name__}: {exc}"[:300]
                    self.log(f"devstack: restarting {child.name} failed: {child.last_error}")
                    continue
                child.restarts += 1
                child.state, child.started_at, child.last_error = RUNNING, time.monotonic(), ""
                new = child.process()
                self.log(f"devstack: {child.name} restarted (pid {new.pid if new else '?'}, "
                         f"restart {child.restarts})")
                break

    async def stop(self) -> None:
        """Stop supervising (children are then stopped by their own cleanups)."""
        self._stopping = True
        for child in self.children.values():
            child.state = STOPPED
        await cancel_and_wait(self._tasks)
        self._tasks.clear()


async def stop_stray_process(pid: object, *markers: str, grace: float = 10.0) -> bool:
    """SIGTERM (then SIGKILL after ``grace`` s) the process ``pid`` if it is alive and its command line
    mentions every marker (so a reused pid is never hit); True if one was stopped."""
    if not isinstance(pid, int) or pid <= 1 or pid == os.getpid() or not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if not all(marker in cmdline for marker in markers):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # waiting for the process to exit
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True
