"""`python -m devstack up` as a child process: start it, wait until it is ready, stop it without leftovers."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from devstack.common.process import die_with_parent, stop_process_group
from devstack.common.statefile import live_owner, read_state
from devstack.paths import REPO_ROOT
from devstack.stack import StackError

STOP_GRACE_SECONDS = 20.0


class DevstackProcess:
    """One `python -m devstack up --state-dir DIR [--config FILE]` child in its own session.

    `start()` returns the parsed `DIR/state.json`; `stop()` sends SIGTERM to the child's process group
    (the stack then stops its own children, deletes namespaces and frees ports) and SIGKILLs it after a grace
    period. If this process dies without calling `stop()` (even by SIGKILL) the child still gets SIGTERM
    (`PR_SET_PDEATHSIG`). The child's output goes to `DIR/devstack.log`.
    """

    def __init__(self, state_dir: Path, config_path: Path | None = None, *,
                 env: dict[str, str] | None = None, extra_args: list[str] | None = None) -> None:
        self.state_dir = state_dir.resolve()
        self.config_path = config_path
        self.env = env or {}
        self.extra_args = extra_args or []
        self.log_path = self.state_dir / "devstack.log"
        self.state: dict[str, Any] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def state_file(self) -> Path:
        """Where the stack writes its ready marker."""
        return self.state_dir / "state.json"

    def check_not_running(self) -> None:
        """Refuse to start over a live devstack in the same state dir; forget a stale state file."""
        pid = live_owner(self.state_file)
        if pid:
            raise StackError(f"a devstack (pid {pid}) is already running with state dir {self.state_dir}; "
                             f"stop it first: python -m devstack down --state-dir {self.state_dir}")
        self.state_file.unlink(missing_ok=True)

    async def start(self, timeout: float = 60.0) -> dict[str, Any]:
        """Start the child and wait for `state.json` (or its early exit, reported with the log's tail)."""
        self.check_not_running()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "devstack", "up", "--state-dir", str(self.state_dir), *self.extra_args]
        if self.config_path is not None:
            argv += ["--config", str(self.config_path)]
        self._log = self.log_path.open("wb")
        self._proc = await asyncio.create_subprocess_exec(
            *argv, cwd=REPO_ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            env={**os.environ, **self.env}, start_new_session=True, preexec_fn=die_with_parent(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.returncode is not None:
                raise StackError(f"`python -m devstack up` exited with status {self._proc.returncode} before "
                                 f"it was ready:\n{self.log_tail()}\n(full log: {self.log_path})"
                                 f"{self._host_log_tail()}")
            state = self._read_state()
            if state is not None:
                self.state = state
                return state
            await asyncio.sleep(0.2)
        raise StackError(f"the devstack was not ready after {timeout:.0f}s (no {self.state_file}):\n"
                         f"{self.log_tail()}\n(full log: {self.log_path})")

    def _read_state(self) -> dict[str, Any] | None:
        state = read_state(self.state_file)
        if state is None or state.get("pid") != (self._proc.pid if self._proc else None):
            return None
        return state

    def log_tail(self, lines: int = 15, path: Path | None = None) -> str:
        """The last lines of the child's log (or of `path`), indented."""
        try:
            text = (path or self.log_path).read_text(errors="replace")
        except OSError:
            return "  (no log)"
        return "\n".join("  " + line for line in text.splitlines()[-lines:])

    def _host_log_tail(self) -> str:
        host_log = self.state_dir / "host.log"
        if not host_log.exists():
            return ""
        return f"\nlast lines of {host_log}:\n{self.log_tail(12, host_log)}"

    async def stop(self) -> int | None:
        """SIGTERM the child's group, wait for it, SIGKILL after the grace period; returns its exit status."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            return await stop_process_group(proc, STOP_GRACE_SECONDS)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
