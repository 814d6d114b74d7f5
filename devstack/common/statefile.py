"""State files (`state.json`, app settings): written atomically, so their presence means "complete", read
tolerantly, and owned by the pid recorded in them."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from devstack.common.process import pid_alive


def write_json_atomic(path: Path, data: dict[str, Any], mode: int = 0o600) -> None:
    """Write JSON to a temp file next to `path`, then rename it into place."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n", mode)


def write_text_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` to a temp file next to `path`, then rename it into place (readers see old or new)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def read_state(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when it is missing, unreadable or not an object."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def live_owner(path: Path) -> int:
    """The pid recorded in `path` if that process is a running devstack; 0 when there is none (no file, or
    a stale one whose pid is gone or now belongs to another program)."""
    state = read_state(path) or {}
    try:
        pid = int(state.get("pid") or 0)
    except (TypeError, ValueError):
        return 0
    return pid if pid > 0 and pid_alive(pid) and is_devstack(pid) else 0


def is_devstack(pid: int) -> bool:
    """Whether `pid` runs `python -m devstack ...` (pids are reused: a crashed devstack's pid may now be any
    program's). True when the command line cannot be read (no /proc): then only liveness is known."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    return any(a == b"-m" and b == b"devstack" for a, b in itertools.pairwise(argv))
