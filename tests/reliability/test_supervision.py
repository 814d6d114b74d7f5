"""Defect 4: the devstack supervises its children. A killed host or Azurite comes back on the same port (the
state file stays right), `/_devstack/health` reports each part, and `down` stops a restarted host too."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest
import reliability_kit as kit

from devstack.common.process import pid_alive
from devstack.testing import loopback_config, run_devstack, wait_until

pytestmark = pytest.mark.e2e


def azurite_pid(state_dir: Path) -> int:
    health = kit.health(kit_state(state_dir))
    return int(health["parts"]["blob"]["pid"])


def kit_state(state_dir: Path):
    from devstack.testing import DevstackState

    return DevstackState.from_file(state_dir / "state.json")


def test_killed_children_come_back_on_the_same_port_and_down_stops_them(tmp_path: Path) -> None:
    state_dir = tmp_path / "ds"
    config = loopback_config(tmp_path / "devstack.toml")
    with run_devstack(state_dir, config_path=config, host=True, timeout=120) as state:
        before = json.loads((state_dir / "state.json").read_text())
        health = kit.health(state)
        assert health["ok"] is True and set(health["parts"]) >= {"host", "blob", "arm", "acs", "identity"}
        assert health["parts"]["host"] == {"state": "running", "pid": kit.host_pid(state), "restarts": 0,
                                           "last_exit": None, "last_error": None}

        old_host = kit.kill_host(state)
        new_host = kit.wait_host_back(state, old_host)
        part = kit.health(state)["parts"]["host"]
        assert part["restarts"] == 1 and part["last_exit"] == "killed by SIGKILL"
        assert json.loads((state_dir / "state.json").read_text()) == before  # same URL, same keys
        log = (state_dir / "devstack.log").read_text()
        assert f"host (pid {old_host}) killed by SIGKILL; restarting it" in log

        old_blob = azurite_pid(state_dir)
        os.kill(old_blob, signal.SIGKILL)
        wait_until(lambda: (b := kit.health(state)["parts"]["blob"])["state"] == "running"
                   and b["pid"] != old_blob, 60, interval=0.2, message="Azurite restarted")
        response = httpx.get(state.blob_endpoint, verify=state.ssl_context(), timeout=10)
        assert response.status_code < 500  # the same endpoint answers again
    assert not pid_alive(new_host), "down left the restarted host running"
