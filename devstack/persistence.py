"""What a devstack keeps between `python -m devstack up` restarts: all of its state, or (`--fresh`) none.

Each part persists its own state under the state dir, behind its own store:

| path | part | how |
|---|---|---|
| `arm/state.json` | ARM emulator: VMs, extensions, captures, async operations | `devstack.arm.store` (JSON) |
| `captures/` | the capture agent's local pcap files | plain files |
| `outbox/` | ACS emulator: one `.json` record and one `.eml` per send | `devstack.acs.store` |
| `azurite/` | blob storage | Azurite's own `--location` persistence (LokiJS) |
| `host/` | Durable Functions state (instances, history, keys) | the host's SQLite store |
| `ports.json` | the ports the servers bound | here |

The ports matter because URLs that name them outlive a restart: a run record keeps its capture's blob URL, an
email its download link. So a restarted devstack binds the ports it had (where the config says 0).

This module only knows the list: `start_fresh` removes it; `check_persisted` opens each store once, so that a
damaged file stops `up` with a clear message before anything starts.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
from dataclasses import fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from devstack.acs.store import OutboxStore
from devstack.arm.store import STATE_FILE as ARM_STATE_FILE
from devstack.arm.store import ArmStore
from devstack.azurite import check_persisted as check_azurite
from devstack.common.persist import PersistedStateError
from devstack.common.statefile import live_owner, write_json_atomic
from devstack.config import DevstackConfig, PortsConfig

PORTS_FILE = "ports.json"
PERSISTED = (ARM_STATE_FILE.parts[0], "captures", "outbox", "azurite", "host", PORTS_FILE)


def start_fresh(state_dir: Path) -> list[Path]:
    """Remove everything a previous devstack persisted in `state_dir` (TLS material and logs stay);
    returns what was removed. Call only when no devstack runs there."""
    removed = []
    for name in PERSISTED:
        path = state_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


def check_persisted(state_dir: Path) -> None:
    """Read every persisted store once; PersistedStateError naming the first damaged file."""
    ArmStore(state_dir).load()
    OutboxStore(state_dir / "outbox").load()
    check_azurite(state_dir / "azurite")
    remembered_ports(state_dir)


def remembered_ports(state_dir: Path) -> dict[str, int]:
    """The ports a previous devstack bound, by service (`ports.json`); empty when there is none."""
    path = state_dir / PORTS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PersistedStateError(path, f"not JSON ({exc})") from None
    known = {f.name for f in fields(PortsConfig)}
    if not isinstance(data, dict) or not all(
        name in known and isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536
        for name, port in data.items()
    ):
        services = ", ".join(sorted(known))
        raise PersistedStateError(path, f"expected an object of ports by service ({services})")
    return data


def reuse_ports(config: DevstackConfig, state_dir: Path) -> DevstackConfig:
    """`config` with each port it leaves at 0 set to the one remembered for that service. StackPortError
    when a remembered port is now taken by another program."""
    remembered = remembered_ports(state_dir)
    chosen = {name: port for name, port in remembered.items() if getattr(config.ports, name) == 0}
    for name, port in chosen.items():
        if not _bindable(port):
            raise StackPortError(
                f"port {port} of the {name} endpoint is in use by another program; the devstack reuses "
                f"the ports in {state_dir / PORTS_FILE} so that URLs saved before a restart still work: "
                "stop that program, or run `python -m devstack up --fresh` to start empty on new ports"
            )
    return replace(config, ports=replace(config.ports, **chosen)) if chosen else config


def remember_ports(state_dir: Path, endpoints: dict[str, str]) -> None:
    """Record the ports the servers bound (`endpoints`: service -> base URL), for the next start."""
    known = {f.name for f in fields(PortsConfig)}
    ports = {name: urlsplit(url).port for name, url in endpoints.items() if name in known}
    write_json_atomic(state_dir / PORTS_FILE, {k: v for k, v in sorted(ports.items()) if v})


class StackPortError(RuntimeError):
    """A port the devstack must reuse is taken."""


class StateDirInUse(RuntimeError):
    """Another devstack runs with this state dir."""


def prepare(config: DevstackConfig, state_dir: Path, fresh: bool) -> DevstackConfig:
    """Before `up` starts anything: empty the state dir's persisted state (`fresh`), else check it can be
    read; returns `config` with the remembered ports. Raises StateDirInUse, PersistedStateError (a damaged
    file, named) or StackPortError; a live devstack's state is never touched."""
    pid = live_owner(state_dir / "state.json")
    if pid:
        raise StateDirInUse(f"a devstack (pid {pid}) already uses {state_dir}; run `python -m devstack down`")
    if fresh:
        start_fresh(state_dir)
    check_persisted(state_dir)
    return reuse_ports(config, state_dir)


def _bindable(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
