"""Child processes that cannot outlive the devstack."""

from __future__ import annotations

import ctypes
import ctypes.util
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
