"""Child processes that cannot outlive the devstack."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` asking Linux to send `sig` to the child when its parent dies (even by SIGKILL), so a
    crashed devstack leaves no Azurite or host behind. A no-op where prctl is unavailable."""

    def preexec() -> None:
        libc_name = ctypes.util.find_library("c")
        if libc_name is None:
            return
        ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def stop_process_group(process: asyncio.subprocess.Process, grace: float = 10.0) -> int | None:
    """SIGTERM the child's process group, SIGKILL it after `grace` seconds, then SIGKILL any straggler
    left in the group; returns the child's exit status."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode
