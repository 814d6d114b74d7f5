"""State files: atomic writes, tolerant reads, and the pid that tells a live devstack from a stale one."""

import os
import subprocess
import sys
from pathlib import Path

from devstack.common.statefile import live_owner, read_state, write_json_atomic


def test_written_state_reads_back_private_and_without_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomic(path, {"pid": 7, "arm_endpoint": "https://127.0.0.1:1"})
    assert read_state(path) == {"pid": 7, "arm_endpoint": "https://127.0.0.1:1"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_missing_partial_or_non_object_state_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert read_state(path) is None
    for text in ('{"pid": 1', "[1, 2]", "\xff"):
        path.write_text(text)
        assert read_state(path) is None
        assert live_owner(path) == 0


def test_live_owner_is_the_recorded_pid_only_while_a_devstack_runs_there(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    # a live process whose command line says `-m devstack` (as `python -m devstack up` does)
    script = "import sys; print('ready', flush=True); sys.stdin.read()"
    devstack_like = subprocess.Popen([sys.executable, "-c", script, "-m", "devstack"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert devstack_like.stdout.readline() == b"ready\n"  # exec'd: /proc shows its own command line
        write_json_atomic(path, {"pid": devstack_like.pid})
        assert live_owner(path) == devstack_like.pid
    finally:
        devstack_like.communicate(b"")
    write_json_atomic(path, {"pid": os.getpid()})  # alive, but pytest is not a devstack: a reused pid
    assert live_owner(path) == 0
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    write_json_atomic(path, {"pid": int(child.stdout)})  # exited and reaped: a stale file
    assert live_owner(path) == 0
    for pid in ("abc", None, -5, 0):
        write_json_atomic(path, {"pid": pid})
        assert live_owner(path) == 0
