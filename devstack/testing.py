"""Helpers for tests that use a running devstack: polling, the state file, a context manager that runs
`python -m devstack up` as a child, and a small admin API client.

    with run_devstack(tmp_path / "ds", host=False) as state:
        admin = AdminClient(state)
        admin.add_fault({"service": "acs", "operation": "Emails_Send", "status": 503, "count": 1})
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from devstack.common.process import die_with_parent
from devstack.paths import REPO_ROOT

T = TypeVar("T")
AZURE_ENV_PREFIXES = ("AZURE_", "MSI_", "IDENTITY_", "IMDS_")


class WaitTimeout(AssertionError):
    """`wait_until` ran out of time."""


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Call `predicate` until it returns something truthy (returned) or `timeout` s pass (WaitTimeout)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{message} not met within {timeout} s")
        time.sleep(interval)


@dataclass(frozen=True)
class DevstackState:
    """`<state dir>/state.json` of a running devstack (host fields are None with `--no-host`)."""

    pid: int
    subscription_id: str
    tenant_id: str
    arm_endpoint: str
    identity_endpoint: str
    identity_header: str
    principal_id: str
    acs_endpoint: str
    acs_connection_string: str
    blob_endpoint: str
    capture_storage_account_id: str
    ca_bundle: str
    admin_url: str
    app_settings_file: str
    state_dir: str
    function_host: str | None = None
    function_key: str | None = None
    master_key: str | None = None
    task_hub: str | None = None
    entra_authority: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> DevstackState:
        """Read a state file (unknown keys are ignored, so newer files still load)."""
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def azure_env(self) -> dict[str, str]:
        """Environment for Azure SDK clients in tests: the managed identity and our CA, nothing else."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "SSL_CERT_FILE": self.ca_bundle,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "CURL_CA_BUNDLE": self.ca_bundle,
        }

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS client context trusting the devstack's CA bundle (for httpx/aiohttp)."""
        return ssl.create_default_context(cafile=self.ca_bundle)

    def endpoints(self) -> list[str]:
        """Every base URL the devstack serves."""
        urls = [
            self.arm_endpoint,
            self.identity_endpoint,
            self.acs_endpoint,
            self.blob_endpoint,
            self.admin_url,
            self.function_host or "",
        ]
        return [u for u in urls if u]

    @property
    def app_settings(self) -> dict[str, str]:
        """The function app's settings (`Values` of the app settings file)."""
        return json.loads(Path(self.app_settings_file).read_text())["Values"]


def isolated_azure_env(state: DevstackState, base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) minus AZURE_*/MSI_*/IDENTITY_*/IMDS_*, plus `state.azure_env()`."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith(AZURE_ENV_PREFIXES)
    }
    env.update(state.azure_env())
    return env


def point_azure_env_at(state: DevstackState, monkeypatch: Any) -> DevstackState:
    """Through pytest's `monkeypatch`: Azure SDK credentials and TLS see only this devstack (every
    AZURE_*/MSI_*/IDENTITY_*/IMDS_* variable of the real environment removed); returns `state`."""
    for name in list(os.environ):
        if name.startswith(AZURE_ENV_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in state.azure_env().items():
        monkeypatch.setenv(name, value)
    return state


def port_open(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host:port."""
    parts = urlsplit(url)
    with (
        contextlib.suppress(OSError),
        socket.create_connection((parts.hostname, parts.port or 443), timeout=0.5),
    ):
        return True
    return False


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (zombies excluded)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if text.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
    return pids


@contextlib.contextmanager
def run_devstack(
    state_dir: Path,
    config_path: Path | None = None,
    host: bool = True,
    timeout: float = 60.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[DevstackState]:
    """Run `python -m devstack up` (plus `extra_args`, e.g. `--fresh`) as a child until the block ends (then
    SIGINT), yielding its state.

    On exit it asserts that the devstack stopped cleanly: exit code 0, state.json removed, no endpoint
    still accepting connections, no process left that mentions the state dir.
    """
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "devstack", "up", "--state-dir", str(state_dir)]
    if config_path is not None:
        command += ["--config", str(config_path)]
    if not host:
        command.append("--no-host")
    command += extra_args
    log_path = state_dir / "devstack.log"
    with log_path.open("ab") as log:
        child = subprocess.Popen(  # a crashed test run takes its devstack down with it
            command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=die_with_parent(),
        )
    state_file = state_dir / "state.json"

    def ready() -> DevstackState | None:
        if child.poll() is not None:
            raise RuntimeError(f"devstack exited with {child.returncode}:\n{log_path.read_text()[-3000:]}")
        if state_file.exists():
            state = DevstackState.from_file(state_file)
            if state.pid == child.pid:
                return state
        return None

    try:
        state = wait_until(ready, timeout, message="devstack ready")
    except BaseException:
        _kill(child)
        raise
    try:
        yield state
    finally:
        stopped = _stop(child)
    assert stopped == 0, f"devstack exited with {stopped}:\n{log_path.read_text()[-3000:]}"
    assert not state_file.exists(), "state.json was not removed"
    still_open = [url for url in state.endpoints() if port_open(url)]
    assert not still_open, f"ports still bound after stop: {still_open}"
    leftovers = processes_mentioning(str(state_dir))
    assert not leftovers, f"processes left after stop: {leftovers}"


def _stop(child: subprocess.Popen, timeout: float = 30.0) -> int | None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill(child)
    return child.returncode


def _kill(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


class AdminError(RuntimeError):
    """The admin API answered with an error."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:500]}"
        )
        self.response = response


class AdminClient:
    """A small synchronous client for `/_devstack/` (httpx, trusting the devstack's CA)."""

    def __init__(self, state: DevstackState, timeout: float = 10.0) -> None:
        self.state = state
        self.http = httpx.Client(base_url=state.admin_url + "/", verify=state.ssl_context(), timeout=timeout)

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AdminError(response)
        return response.json() if response.content else None

    def reset(self) -> None:
        """Forget captures, added VMs, emails, faults and runtime role assignments; reset the clock."""
        self._call("POST", "reset")

    def captures(self) -> list[dict]:
        """Every packet capture with its target and pcap location."""
        return self._call("GET", "captures")["value"]

    def emails(self) -> list[dict]:
        """The ACS outbox, oldest first."""
        return self._call("GET", "emails")["value"]

    def email_eml(self, operation_id: str) -> bytes:
        """One message as the .eml file written to the outbox."""
        response = self.http.get(f"emails/{operation_id}/eml")
        if response.status_code >= 400:
            raise AdminError(response)
        return response.content

    def email_outcome(self, status: str, polls: int = 0, count: int | None = 1, code: str | None = None,
                      message: str | None = None) -> dict:
        """Make the next `count` sends end with `status` after `polls` `Running` polls."""
        body = {"status": status, "polls": polls, "count": count, "code": code, "message": message}
        return self._call("POST", "emails/outcomes", json={k: v for k, v in body.items() if v is not None})

    def add_vm(self, spec: dict) -> dict:
        """Add a VM or scale set at run time ({"id", "location", ...})."""
        return self._call("POST", "vms", json=spec)

    def add_fault(self, spec: dict) -> dict:
        """Inject a fault ({"operation", "status"|"delay"|"drop", "retry_after", "count"|"ratio"})."""
        return self._call("POST", "faults", json=spec)["value"][0]

    def faults(self) -> list[dict]:
        """The active faults with their `fired` counts."""
        return self._call("GET", "faults")["value"]

    def clear_faults(self, service: str | None = None, operation: str | None = None) -> int:
        """Remove faults; returns how many."""
        params = {k: v for k, v in (("service", service), ("operation", operation)) if v}
        return self._call("DELETE", "faults", params=params)["removed"]

    def clock(self, **changes: Any) -> dict:
        """Read the clock, or change it: `clock(speed=10)`, `clock(manual=True)`, `clock(advance=60)`."""
        return self._call("POST", "clock", json=changes) if changes else self._call("GET", "clock")

    def issue_token(self, principal_id: str, audience: str, lifetime_seconds: int = 3600) -> str:
        """A signed access token for any principal (negative lifetime = already expired)."""
        body = {"principal_id": principal_id, "audience": audience, "lifetime_seconds": lifetime_seconds}
        return self._call("POST", "tokens", json=body)["access_token"]

    def role_assignments(self) -> list[dict]:
        """The role assignments in force."""
        return self._call("GET", "role-assignments")["value"]

    def add_role_assignment(self, principal_id: str, role: str, scope: str) -> dict:
        """Grant a role at run time (undone by reset)."""
        return self._call(
            "POST", "role-assignments", json={"principal_id": principal_id, "role": role, "scope": scope}
        )

    def remove_role_assignments(self, principal_id: str, role: str | None = None) -> int:
        """Remove a principal's role assignments (all, or one role's); returns how many."""
        params = {"principal_id": principal_id, **({"role": role} if role else {})}
        return self._call("DELETE", "role-assignments", params=params)["removed"]


def loopback_config(path: Path, source: Path | None = None, alert_rules: bool = False) -> Path:
    """Write a copy of a devstack config (default: the built-in one) with every VM on loopback instead of a
    network namespace, so several devstacks can run side by side, and (unless `alert_rules`) without
    `[[alert_rules]]`, so loopback traffic from other tests cannot fire alerts; returns `path`."""
    from devstack.config import DEFAULT_CONFIG_PATH

    kept, in_rule = [], False
    for line in (source or DEFAULT_CONFIG_PATH).read_text().splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            in_rule = stripped == "[[alert_rules]]" and not alert_rules
        if in_rule or stripped.startswith("netns"):
            continue
        kept.append(line)
    path.write_text("".join(kept))
    return path
