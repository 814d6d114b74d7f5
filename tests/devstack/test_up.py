"""`python -m devstack up/down` as a user runs it: ready in under 10 s, state.json and app settings as the
contract says, and nothing left (processes, ports, namespaces, state.json) after Ctrl-C or `down`."""

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.paths import REPO_ROOT
from devstack.testing import (
    AdminClient,
    DevstackState,
    loopback_config,
    port_open,
    processes_mentioning,
    run_devstack,
    wait_until,
)

REQUIRED_KEYS = {
    "pid",
    "subscription_id",
    "tenant_id",
    "arm_endpoint",
    "identity_endpoint",
    "identity_header",
    "principal_id",
    "acs_endpoint",
    "acs_connection_string",
    "blob_endpoint",
    "capture_storage_account_id",
    "ca_bundle",
    "admin_url",
    "app_settings_file",
}


def devstack_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devstack", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.mark.netns
def test_up_is_ready_and_sigint_leaves_nothing(tmp_path: Path) -> None:
    netns = f"alertcap-t{secrets.token_hex(3)}"
    config = tmp_path / "devstack.toml"
    config.write_text(
        loopback_config(tmp_path / "base.toml")
        .read_text()
        .replace('name = "vm-web-01"\n', f'name = "vm-web-01"\nnetns = "{netns}"\n')
    )
    with run_devstack(tmp_path / "state", config_path=config, host=True) as state:
        raw = json.loads((tmp_path / "state" / "state.json").read_text())
        assert set(raw) >= REQUIRED_KEYS
        assert all(raw[k] for k in REQUIRED_KEYS - {"arm_endpoint"})
        assert netns in namespaces()
        settings = state.app_settings
        assert settings["IDENTITY_ENDPOINT"] == state.identity_endpoint
        assert settings["SSL_CERT_FILE"] == settings["REQUESTS_CA_BUNDLE"] == state.ca_bundle
        assert settings["CAPTURE_STORAGE_ACCOUNT_ID"] == state.capture_storage_account_id
        assert settings["EMAIL_SENDER"] == "DoNotReply@alertcap.localhost"
        assert state.acs_connection_string.startswith(f"endpoint={state.acs_endpoint}/;accesskey=")
        assert all(port_open(url) for url in state.endpoints())
        with AdminClient(state) as admin:
            assert admin.http.get("health").json()["ok"] is True
    assert netns not in namespaces()  # run_devstack already checked processes, ports and state.json


def test_detach_then_down(tmp_path: Path) -> None:
    config = loopback_config(tmp_path / "devstack.toml")
    state_dir = tmp_path / "state"
    up = devstack_cli("up", "--detach", "--no-host", "--config", str(config), "--state-dir", str(state_dir))
    assert up.returncode == 0, up.stderr
    assert "admin_url" in up.stdout
    state = DevstackState.from_file(state_dir / "state.json")
    try:
        second = devstack_cli("up", "--no-host", "--config", str(config), "--state-dir", str(state_dir))
        assert second.returncode == 1 and "already uses" in second.stderr
        down = devstack_cli("down", "--state-dir", str(state_dir))
        assert down.returncode == 0, down.stderr
    finally:
        if (state_dir / "state.json").exists():
            os.kill(state.pid, 9)
    assert not (state_dir / "state.json").exists()
    assert not [url for url in state.endpoints() if port_open(url)]
    again = devstack_cli("down", "--state-dir", str(state_dir))
    assert again.returncode == 0 and "not running" in again.stderr


def test_down_never_signals_a_program_that_reused_a_crashed_devstacks_pid(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        (state_dir / "state.json").write_text(json.dumps({"pid": bystander.pid}))
        down = devstack_cli("down", "--state-dir", str(state_dir), "--timeout", "2")
        assert down.returncode == 0, down.stderr
        assert "not a devstack" in down.stderr
        assert bystander.poll() is None  # still running: it got no signal
        assert not (state_dir / "state.json").exists()
    finally:
        bystander.communicate(b"")
    assert bystander.returncode == 0


def test_bad_config_is_reported_by_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        loopback_config(tmp_path / "base.toml")
        .read_text()
        .replace('power_state = "running"', 'power_state = "sleeping"')
    )
    result = devstack_cli("up", "--no-host", "--config", str(config), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "vms[0].power_state" in result.stderr and "Traceback" not in result.stderr


def test_port_in_use_fails_cleanly_and_stops_what_started(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "devstack.toml"
        config.write_text(
            loopback_config(tmp_path / "base.toml").read_text().replace("admin = 0", f"admin = {port}")
        )
        state_dir = tmp_path / "state"
        result = devstack_cli("up", "--no-host", "--config", str(config), "--state-dir", str(state_dir))
    assert result.returncode == 1, result.stderr
    assert "failed to start" in result.stderr and "Traceback" not in result.stderr
    assert not (state_dir / "state.json").exists()
    assert processes_mentioning(str(state_dir)) == []  # Azurite, started first, was stopped


def test_namespace_set_up_failure_is_one_line_and_stops_what_started(tmp_path: Path) -> None:
    """As without root: `ip netns add` is refused. The user gets the reason, not a traceback."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "ip").write_text("#!/bin/sh\necho 'mount --make-shared /run/netns failed: Operation not "
                                 "permitted' >&2\nexit 1\n")
    (fake_bin / "ip").chmod(0o755)
    config = tmp_path / "devstack.toml"
    config.write_text(
        loopback_config(tmp_path / "base.toml")
        .read_text()
        .replace('name = "vm-web-01"\n', 'name = "vm-web-01"\nnetns = "alertcap-tnoroot"\n')
    )
    state_dir = tmp_path / "state"
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"}
    result = devstack_cli("up", "--no-host", "--config", str(config), "--state-dir", str(state_dir), env=env)
    assert result.returncode == 1, result.stderr
    assert "failed to start" in result.stderr and "Operation not permitted" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (state_dir / "state.json").exists()
    assert processes_mentioning(str(state_dir)) == []


def test_children_die_with_a_killed_devstack(tmp_path: Path) -> None:
    config = loopback_config(tmp_path / "devstack.toml")
    state_dir = tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, "-m", "devstack", "up", "--config", str(config), "--state-dir", str(state_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        state = wait_until(
            lambda: (state_dir / "state.json").exists() and DevstackState.from_file(state_dir / "state.json"),
            timeout=60,
            message="devstack ready",
        )
        children = processes_mentioning(str(state_dir))
        assert len(children) >= 2  # Azurite and the host (besides the devstack itself)
    finally:
        child.kill()  # SIGKILL: no chance to clean up itself
        child.wait()
    wait_until(lambda: not processes_mentioning(str(state_dir)), timeout=20, message="children gone")
    assert not [url for url in state.endpoints() if port_open(url)]
