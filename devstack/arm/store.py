"""Where the ARM emulator's state lives between `up` restarts: `<state dir>/arm/state.json`.

The file holds one `ArmState` (see `state.py`), written atomically by the backend's autosaver a moment after
each change and once more at shutdown. What a restart does with state that was in flight (a running capture,
an unfinished operation) is decided by the models (`ArmBackend.restore`), not here.
"""

from __future__ import annotations

from pathlib import Path

from devstack.arm.state import ArmState
from devstack.common.persist import JsonStateFile

STATE_FILE = Path("arm") / "state.json"
FORMAT = 1


class ArmStore(JsonStateFile):
    """The ARM emulator's persisted `ArmState`."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(Path(state_dir) / STATE_FILE, ArmState, FORMAT)

    def load(self) -> ArmState | None:
        """The saved state; None on a first start; PersistedStateError when the file is damaged."""
        return super().load()
