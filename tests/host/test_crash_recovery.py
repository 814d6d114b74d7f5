"""kill -9 with a 5 s timer pending and an activity in flight; the restarted host finishes the run."""

import threading
import time
from pathlib import Path

import httpx

from devstack.host.history import parse_ts
from devstack.host.testing import get_status, running_host, wait_for_status
from devstack.testing import wait_until

APP = Path(__file__).parent / "apps" / "crash"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_kill_9_with_a_pending_timer_and_an_activity_in_flight(tmp_path: Path) -> None:
    side_effects = tmp_path / "side-effects.txt"
    with running_host(APP, state_dir=tmp_path / "state") as host:
        response = httpx.post(f"{host.base_url}/api/runs", json={"path": str(side_effects), "seconds": 3})
        assert response.status_code == 202
        instance_id = response.json()["id"]
        wait_until(lambda: lines(side_effects) == ["work"], message="the activity to be in flight")
        history = get_status(host, instance_id, showHistory="true")["historyEvents"]
        (timer,) = [e for e in history if e["EventType"] == "TimerCreated"]
        fire_at = parse_ts(timer["FireAt"]).timestamp()
        host.kill()

        # stay down until the timer has fallen due, so the restart must fire it on start
        wait_until(lambda: time.time() > fire_at + 0.2, timeout=10, interval=0.1, message="timer due time")
        host.restart()
        status = wait_for_status(host, instance_id, timeout=20, showHistory="true")
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == {"work": "work done", "after": "after done"}
        # at least once (the run killed mid-flight ran again), at most twice
        assert lines(side_effects).count("work") == 2
        assert lines(side_effects)[-1] == "after"
        fired = [e for e in status["historyEvents"] if e["EventType"] == "TimerFired"]
        assert len(fired) == 1 and parse_ts(fired[0]["Timestamp"]).timestamp() >= fire_at


def test_sigterm_with_an_activity_in_flight_exits_promptly_and_the_restart_resumes(tmp_path: Path) -> None:
    side_effects = tmp_path / "effects.txt"
    state = tmp_path / "state"
    with running_host(APP, state_dir=state) as host:
        keys = (host.function_key, host.master_key)
        response = httpx.post(f"{host.base_url}/api/runs", json={"path": str(side_effects), "seconds": 4})
        instance_id = response.json()["id"]
        wait_until(lambda: lines(side_effects) == ["work"], message="the activity to be in flight")
        stopping = time.monotonic()
        assert host.stop() == 0
        assert time.monotonic() - stopping < 3, "shutdown waited for the running activity"
        assert not (state / "state.json").exists()

        host.start()
        assert (host.function_key, host.master_key) == keys
        status = wait_for_status(host, instance_id, timeout=20)
        assert status["output"] == {"work": "work done", "after": "after done"}
        assert lines(side_effects).count("work") == 2  # the interrupted run, then the resumed one
        log = host.log_text()
        assert f"episode crash_run instance={instance_id}" in log
        assert f"activity side_effect instance={instance_id}" in log
        assert all(key not in log for key in (*keys, host.client_binding().split("code=")[1][:20]))


def test_sigterm_answers_a_waiting_start_and_wait_request_and_exits_promptly(tmp_path: Path) -> None:
    """A ``?timeout=`` start-and-wait request held open must not hold the shutdown up (aiohttp's default
    graceful shutdown waits 60 s for handlers): it gets its 202 and the host exits at once."""
    answers: list[httpx.Response] = []
    with running_host(APP, state_dir=tmp_path / "state") as host:
        job = {"path": str(tmp_path / "effects.txt"), "seconds": 0}  # then a 5 s timer keeps it Running

        def start_and_wait() -> None:
            answers.append(
                httpx.post(
                    f"{host.management_url}/orchestrators/crash_run/held-open",
                    params={"code": host.master_key, "timeout": "60", "pollingInterval": "1"},
                    json=job,
                    timeout=30,
                )
            )

        waiter = threading.Thread(target=start_and_wait)
        waiter.start()
        wait_until(lambda: get_status(host, "held-open"), message="the instance to exist")
        stopping = time.monotonic()
        assert host.stop() == 0
        assert time.monotonic() - stopping < 3, "shutdown waited for the start-and-wait request"
        waiter.join(timeout=10)
    assert [a.status_code for a in answers] == [202]
    assert answers[0].json()["id"] == "held-open"
