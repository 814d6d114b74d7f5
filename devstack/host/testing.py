"""Run the durable host as a subprocess for tests and tools.

    with running_host(app_dir, settings=path) as host:
        httpx.post(f"{host.base_url}/api/alerts", params={"code": host.function_key}, json=...)
        client = host.durable_client()          # the SDK's DurableOrchestrationClient, bound to this host

``start_host`` waits until the host wrote a ``state.json`` with its own pid; ``HostProcess.stop()`` sends
SIGTERM (clean shutdown), ``kill()`` sends SIGKILL (crash tests), ``restart()`` starts it again on the same
state dir, so persisted instances resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.paths import REPO_ROOT
from devstack.testing import WaitTimeout, wait_until


class HostStartError(RuntimeError):
    """The host exited or did not become ready in time; the message ends with its log tail."""


@dataclass
class HostProcess:
    """A host subprocess and what its state.json says."""

    app_dir: Path
    state_dir: Path
    settings: Path | None
    port: int
    extra_args: list[str]
    env: dict[str, str]
    code_root: Path = REPO_ROOT  # the checkout whose ``devstack.host`` runs (a bench may compare two)
    python: str = sys.executable
    proc: subprocess.Popen[bytes] | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return str(self.state["base_url"])

    @property
    def function_key(self) -> str:
        """Key for authLevel FUNCTION routes."""
        return str(self.state["function_key"])

    @property
    def master_key(self) -> str:
        """Key for ADMIN routes and the management API."""
        return str(self.state["master_key"])

    @property
    def task_hub(self) -> str:
        """The task hub name from host.json."""
        return str(self.state["task_hub"])

    @property
    def log_path(self) -> Path:
        """The host's stderr log."""
        return self.state_dir / "host.log"

    @property
    def management_url(self) -> str:
        """``<base_url>/runtime/webhooks/durabletask``."""
        return f"{self.base_url}/runtime/webhooks/durabletask"

    def log_text(self) -> str:
        """Everything the host logged so far."""
        return self.log_path.read_text() if self.log_path.exists() else ""

    def client_binding(self) -> str:
        """The durable client binding JSON the host gives its own functions."""
        from devstack.host.keys import load_or_create_keys
        from devstack.host.server import client_binding_json

        return client_binding_json(self.base_url, self.task_hub, load_or_create_keys(self.state_dir))

    def durable_client(self) -> Any:
        """An ``azure.durable_functions.DurableOrchestrationClient`` talking to this host over RPC."""
        import azure.durable_functions as df

        return df.DurableOrchestrationClient(self.client_binding())

    def start(self, timeout: float = 30.0) -> HostProcess:
        """Spawn the host and wait for its state.json."""
        state_file = self.state_dir / "state.json"
        state_file.unlink(missing_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            self.python,
            "-m",
            "devstack.host",
            "--app",
            str(self.app_dir),
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            *self.extra_args,
        ]
        if self.settings is not None:
            cmd += ["--settings", str(self.settings)]
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.code_root), env.get("PYTHONPATH")) if p)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=log, env=env, cwd=str(self.app_dir), start_new_session=True
            )
        proc = self.proc

        def ready() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise HostStartError(f"host exited with code {proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                return None
            return state if state.get("pid") == proc.pid else None

        try:
            self.state = wait_until(ready, timeout, interval=0.02, message="host state.json")
        except WaitTimeout as exc:
            self.kill()
            raise HostStartError(f"{exc}\n{self.log_text()[-3000:]}") from exc
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the host's process group, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def restart(self, timeout: float = 30.0) -> HostProcess:
        """Start again on the same state dir (after stop() or kill())."""
        self.stop()
        return self.start(timeout)


def start_host(
    app_dir: Path | str,
    *,
    settings: Path | str | None = None,
    state_dir: Path | str | None = None,
    port: int = 0,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 30.0,
    code_root: Path | None = None,
    python: str | None = None,
) -> HostProcess:
    """Start ``python -m devstack.host`` for ``app_dir``; a fresh temp state dir unless one is given.

    ``code_root`` (default: this checkout) is put first on the host's ``PYTHONPATH``, so another checkout's
    host can run (with ``python``, by default this interpreter)."""
    state = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="devstack-host-"))
    host = HostProcess(
        app_dir=Path(app_dir).resolve(),
        state_dir=state.resolve(),
        settings=Path(settings).resolve() if settings else None,
        port=port,
        extra_args=list(extra_args or []),
        env=dict(env or {}),
        code_root=Path(code_root).resolve() if code_root else REPO_ROOT,
        python=python or sys.executable,
    )
    return host.start(timeout)


@contextmanager
def running_host(app_dir: Path | str, **kwargs: Any) -> Iterator[HostProcess]:
    """``start_host`` as a context manager that always stops the host."""
    host = start_host(app_dir, **kwargs)
    try:
        yield host
    finally:
        host.stop()


def get_status(host: HostProcess, instance_id: str, **params: Any) -> dict[str, Any] | None:
    """GET the management API status of an instance (None for 404)."""
    import httpx

    query = {"code": host.master_key, **{k: str(v) for k, v in params.items()}}
    response = httpx.get(f"{host.management_url}/instances/{instance_id}", params=query, timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return dict(response.json())


def wait_for_status(
    host: HostProcess,
    instance_id: str,
    statuses: tuple[str, ...] = ("Completed", "Failed", "Terminated"),
    timeout: float = 20.0,
    **params: Any,
) -> dict[str, Any]:
    """Poll the status until ``runtimeStatus`` is one of ``statuses``; returns the status payload."""

    def reached() -> dict[str, Any] | None:
        status = get_status(host, instance_id, **params)
        return status if status and status["runtimeStatus"] in statuses else None

    return wait_until(reached, timeout, interval=0.02, message=f"{instance_id} to reach {statuses}")
