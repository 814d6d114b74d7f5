"""Pieces of the host on their own: host.json, route templates, OrchestratorState decoding, loader errors,
the timer clock."""

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devstack.host.config import HostConfigError, load_host_config, load_settings, parse_timespan
from devstack.host.executor import context_input, run_episode
from devstack.host.http_triggers import compile_route
from devstack.host.keys import load_or_create_keys
from devstack.host.testing import running_host
from devstack.host.timers import TimerClock
from devstack.paths import REPO_ROOT

APPS = Path(__file__).parent / "apps"


def write_host_json(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "host.json").write_text(json.dumps(data))
    return tmp_path


def test_host_json_durable_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_HUB", "fromsetting")
    config = load_host_config(
        write_host_json(
            tmp_path,
            {
                "functionTimeout": "00:05:00",
                "extensionBundle": {
                    "id": "Microsoft.Azure.Functions.ExtensionBundle",
                    "version": "[4.*, 5.0.0)",
                },
                "extensions": {
                    "http": {"routePrefix": "/x/"},
                    "durableTask": {
                        "hubName": "%MY_HUB%",
                        "maxConcurrentActivityFunctions": 3,
                        "defaultVersion": "1.0",
                        "storageProvider": {"maxQueuePollingInterval": "00:00:02"},
                    },
                },
            },
        )
    )
    assert (config.hub_name, config.max_concurrent_activities, config.default_version) == (
        "fromsetting",
        3,
        "1.0",
    )
    assert (config.function_timeout_seconds, config.route_prefix) == (300.0, "x")
    assert config.max_queue_polling_interval == "00:00:02"


def test_host_json_rejects_other_bundles_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(HostConfigError, match=r"\[4\.\*, 5\.0\.0\)"):
        load_host_config(
            write_host_json(
                tmp_path,
                {
                    "extensionBundle": {
                        "id": "Microsoft.Azure.Functions.ExtensionBundle",
                        "version": "[1.*, 2.0.0)",
                    }
                },
            )
        )
    (tmp_path / "host.json").write_text("{")
    with pytest.raises(HostConfigError, match="not valid JSON"):
        load_host_config(tmp_path)


@pytest.mark.parametrize(
    ("host_json", "fragment"),
    [
        ({"extensions": {"durableTask": {"hubName": "%NO_SUCH_SETTING_FOR_HUB%"}}}, "hubName"),
        ({"extensions": {"durableTask": {"hubName": "../outside"}}}, "hubName"),
        ({"extensions": {"durableTask": {"hubName": "1hub"}}}, "hubName"),
        ({"extensions": {"durableTask": {"maxConcurrentActivityFunctions": "ten"}}}, "maxConcurrentActivity"),
        ({"extensions": {"durableTask": {"maxConcurrentOrchestratorFunctions": []}}}, "maxConcurrentOrch"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_host_json_bad_values_are_config_errors(tmp_path: Path, host_json: object, fragment: str) -> None:
    """A clear HostConfigError (exit code 2 with the message), never a traceback or a stray database path."""
    with pytest.raises(HostConfigError, match=fragment):
        load_host_config(write_host_json(tmp_path, host_json))  # type: ignore[arg-type]


def test_settings_file_that_is_not_an_object_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text('["Values"]')
    with pytest.raises(HostConfigError, match="JSON object"):
        load_settings(path)


@pytest.mark.parametrize("content", ["{", '{"function_key": "k"}', "[]"])
def test_a_damaged_keys_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "keys.json").write_text(content)
    with pytest.raises(HostConfigError, match=r"keys\.json"):
        load_or_create_keys(tmp_path)


def test_timespans() -> None:
    assert parse_timespan("1.02:03:04.5") == 86400 + 2 * 3600 + 3 * 60 + 4.5
    with pytest.raises(HostConfigError):
        parse_timespan("ten minutes")


def test_route_templates() -> None:
    route = compile_route("orders/{id:int}/{name?}")
    assert route.match("/orders/12/abc").groupdict() == {"id": "12", "name": "abc"}
    assert route.match("/ORDERS/12").groupdict() == {"id": "12", "name": None}
    assert route.match("/orders/twelve") is None
    assert compile_route("files/{*path}").match("/files/a/b/c").group("path") == "a/b/c"


def test_context_input_is_made_safe_for_get_input() -> None:
    assert context_input(None) is None
    assert context_input(json.dumps('"V"')) == '"V"'
    assert context_input(json.dumps({"a": 1})) == {"a": 1}
    assert context_input("5") == "5"  # a bare number would crash get_input(); pass it as JSON text


def test_run_episode_decodes_the_out_of_proc_failure_marker() -> None:
    def handle(_: str) -> str:
        raise Exception(
            'boom\n\n$OutOfProcData$:{"isDone": false, "schemaVersion": 2, "actions": [[]], '
            '"error": "boom", "customStatus": {"phase": 1}}'
        )

    outcome = run_episode(handle, {})
    assert (outcome.error, outcome.custom_status, outcome.actions) == ("boom", {"phase": 1}, [])

    def plain(_: str) -> str:
        raise RuntimeError("no marker")

    assert run_episode(plain, {}).error == "no marker"


def run_host_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m devstack.host ARGS`` to its exit (these tests expect it to stop at once)."""
    command = [sys.executable, "-m", "devstack.host", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def test_unsupported_bindings_fail_fast_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n"
        "@app.timer_trigger(schedule='0 */5 * * * *', arg_name='timer')\n"
        "def tick(timer: func.TimerRequest) -> None:\n"
        "    pass\n"
    )
    result = run_host_cli("--app", str(tmp_path), "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 2
    assert "function 'tick': binding type 'timerTrigger' is not supported" in result.stderr
    assert not (tmp_path / "state" / "state.json").exists()


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app = str(APPS / "chaining")
        result = run_host_cli("--app", app, "--port", str(port), "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_state_dir_in_use_by_another_host_is_a_clear_error(tmp_path: Path) -> None:
    """The host holds its task hub database for as long as it runs: a second host on the same state dir stops
    at once, naming the problem, instead of dispatching the same instances twice."""
    with running_host(APPS / "chaining", state_dir=tmp_path):
        result = run_host_cli("--app", str(APPS / "chaining"), "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert "ChainHub.sqlite3 is in use by another process" in result.stderr
    assert "Traceback" not in result.stderr


async def test_timer_clock_fires_in_due_order_from_one_task_without_a_thread_per_timer() -> None:
    fired: list[int] = []
    clock = TimerClock(fired.append)
    threads_before = threading.active_count()
    now = time.time()
    for row_id in range(500):  # due from 0.3 s down to already due: they must fire in due order
        clock.arm(now + 0.3 - row_id * 0.0006 - (0.3 if row_id == 499 else 0), row_id)
    clock.arm(now - 5, 1000)  # fell due while the host was down
    runner = asyncio.create_task(clock.run())
    try:
        deadline = time.monotonic() + 10
        while len(fired) < 501 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert threading.active_count() == threads_before
    finally:
        runner.cancel()
    assert fired[:2] == [1000, 499]
    assert fired[2:] == list(range(498, -1, -1))


async def test_timer_clock_keeps_running_when_one_timer_cannot_fire() -> None:
    fired: list[int] = []

    def fire(row_id: int) -> None:
        if row_id == 1:
            raise RuntimeError("store unavailable")
        fired.append(row_id)

    clock = TimerClock(fire)
    runner = asyncio.create_task(clock.run())
    try:
        clock.arm(time.time(), 1)
        clock.arm(time.time() + 0.05, 2)  # armed while the clock waits: it wakes and re-plans
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        runner.cancel()
    assert fired == [2]
