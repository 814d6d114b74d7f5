"""Durable patterns driven over HTTP only: the app's own starter route and the management API."""

import datetime as dt
import itertools
import uuid
from pathlib import Path
from typing import Any

import httpx

from devstack.host.testing import HostProcess, get_status, wait_for_status
from devstack.testing import wait_until


def start(host: HostProcess, name: str, payload: Any = None, instance_id: str | None = None) -> str:
    params = {"code": host.function_key}
    if instance_id:
        params["instance_id"] = instance_id
    response = httpx.post(f"{host.base_url}/api/start/{name}", params=params, json=payload, timeout=10)
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["Location"] == body["statusQueryGetUri"]
    return str(body["id"])


def test_chaining_runs_three_activities_in_order(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "chain")
    status = wait_for_status(patterns_host, instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_fan_out_fan_in_of_100_activities(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "fan_out", 100)
    status = wait_for_status(patterns_host, instance_id, timeout=30)
    assert status["output"] == {"count": 100, "sum": sum(i * i for i in range(100))}


def test_monitor_loop_reads_orchestration_time_across_timers(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "monitor", {"polls": 3, "interval_ms": 300})
    status = wait_for_status(patterns_host, instance_id)
    assert status["runtimeStatus"] == "Completed"
    times = [dt.datetime.fromisoformat(t) for t in status["output"]]
    assert len(times) == 4
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.3 for gap in gaps), gaps
    assert status["customStatus"] == {"phase": "polling", "polls": 3}


def test_external_event_beats_the_timer_and_the_timer_is_cancelled(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "approval", 60_000)
    wait_for_status(patterns_host, instance_id, ("Running",))
    status = get_status(patterns_host, instance_id)
    response = httpx.post(
        f"{patterns_host.management_url}/instances/{instance_id}/raiseEvent/Approval",
        params={"code": patterns_host.master_key},
        json="alice",
        timeout=10,
    )
    assert response.status_code == 202
    status = wait_for_status(patterns_host, instance_id, timeout=10, showHistory="true")
    assert status["output"] == {"outcome": "approved", "by": "alice"}
    kinds = [e["EventType"] for e in status["historyEvents"]]
    assert "TimerCreated" in kinds and "TimerFired" not in kinds


def test_timer_beats_the_external_event(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "approval", 300)
    status = wait_for_status(patterns_host, instance_id, showHistory="true")
    assert status["output"] == {"outcome": "timed out"}
    assert "TimerFired" in [e["EventType"] for e in status["historyEvents"]]


def test_a_waiter_re_yielded_across_timed_waits(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "listener", {"waits": 3, "wait_ms": 700})
    url = f"{patterns_host.management_url}/instances/{instance_id}/raiseEvent/extra"

    def progress(step: int) -> dict | None:
        custom = get_status(patterns_host, instance_id)["customStatus"] or {}
        return custom if custom.get("step") == step else None

    for step in (1, 2):  # each step re-yields the waiter left pending when the previous step's timer won
        assert wait_until(lambda n=step: progress(n))["seen"] == step - 1
        response = httpx.post(url, params={"code": patterns_host.master_key}, json=f"alert-{step}")
        assert response.status_code == 202
        wait_until(lambda n=step: (progress(n) or {}).get("seen") == n)
    status = wait_for_status(patterns_host, instance_id, timeout=20)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"seen": ["alert-1", "alert-2"], "squares": [0, 1, 4]}


def test_a_re_yielded_waiter_wins_and_the_run_goes_on(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "reyield_race")
    wait_until(lambda: get_status(patterns_host, instance_id)["customStatus"] == "second wait")
    response = httpx.post(
        f"{patterns_host.management_url}/instances/{instance_id}/raiseEvent/go",
        params={"code": patterns_host.master_key},
        json="now",
    )
    assert response.status_code == 202
    status = wait_for_status(patterns_host, instance_id, timeout=10)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"go": "now", "square": 25}


def test_retry_fails_twice_then_succeeds(patterns_host: HostProcess, scratch: Path) -> None:
    job = {"key": "twice", "fail_times": 2, "attempts": 3, "dir": str(scratch)}
    status = wait_for_status(patterns_host, start(patterns_host, "retry_flaky", job))
    assert status["output"] == {"succeeded_on_attempt": 3}
    assert (scratch / "twice.attempts").read_text() == "3"


def test_retry_exhausts_its_attempts(patterns_host: HostProcess, scratch: Path) -> None:
    job = {"key": "always", "fail_times": 99, "attempts": 3, "dir": str(scratch)}
    status = wait_for_status(patterns_host, start(patterns_host, "retry_flaky", job))
    assert status["output"] == {
        "gave_up": "Activity function 'flaky' failed: RuntimeError: flaky always attempt 3 failed "
    }
    assert (scratch / "always.attempts").read_text() == "3"


def test_parallel_retries_inside_task_all(patterns_host: HostProcess, scratch: Path) -> None:
    jobs = [{"key": f"p{n}", "fail_times": n, "dir": str(scratch)} for n in (1, 2, 0, 3)]
    status = wait_for_status(patterns_host, start(patterns_host, "parallel_retries", jobs))
    assert status["output"] == {"attempts": [2, 3, 1, 4], "after": 49}


def test_sub_orchestrations_and_a_caught_failing_child(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "parent", "Ada")
    status = wait_for_status(patterns_host, instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["greeting"] == f"Hello Ada! (child of {instance_id})"
    assert status["output"]["fixed"] == f"Hello Fixed! (child of {instance_id})"
    assert status["output"]["caught"].startswith(
        "Orchestrator function 'child_fail' failed: child refuses Ada"
    )
    fixed_child = get_status(patterns_host, f"{instance_id}-fixed-child")
    assert fixed_child is not None and fixed_child["runtimeStatus"] == "Completed"


def test_sub_orchestration_with_retry(patterns_host: HostProcess, scratch: Path) -> None:
    job = {"key": "child", "fail_times": 2, "dir": str(scratch)}
    instance_id = start(patterns_host, "parent_retry", job)
    status = wait_for_status(patterns_host, instance_id, showHistory="true")
    assert status["output"] == {"child_succeeded_on_attempt": 3}
    kinds = [e["EventType"] for e in status["historyEvents"]]
    assert kinds.count("SubOrchestrationInstanceFailed") == 2
    assert kinds.count("SubOrchestrationInstanceCompleted") == 1
    assert (scratch / "child.attempts").read_text() == "3"


def test_continue_as_new_carries_state(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "counter", {"n": 0, "until": 4, "acc": []})
    status = wait_for_status(patterns_host, instance_id)
    assert status["output"] == {"acc": [0, 1, 4, 9], "execution_of_n": 4}
    assert status["input"] == '{"n": 4, "until": 4, "acc": [0, 1, 4, 9]}'


def test_custom_status_is_visible_while_running_and_after(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "staged")
    running = wait_for_status(patterns_host, instance_id, ("Running",))
    assert running["customStatus"] == {"phase": "waiting", "step": 1}
    httpx.post(
        f"{patterns_host.management_url}/instances/{instance_id}/raiseEvent/go",
        params={"code": patterns_host.master_key},
        json={"ok": True},
        timeout=10,
    ).raise_for_status()
    done = wait_for_status(patterns_host, instance_id)
    assert done["customStatus"] == {"phase": "done", "step": 2}
    assert done["output"] == {"go": {"ok": True}}


def test_terminate_a_running_instance(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "long_wait")
    wait_for_status(patterns_host, instance_id, ("Running",))
    url = f"{patterns_host.management_url}/instances/{instance_id}/terminate"
    assert (
        httpx.post(url, params={"code": patterns_host.master_key, "reason": "ops said so"}).status_code == 202
    )
    status = wait_for_status(patterns_host, instance_id, ("Terminated",))
    assert status["output"] == "ops said so"
    assert httpx.post(url, params={"code": patterns_host.master_key}).status_code == 410


def test_rewind_a_failed_instance_then_it_completes(patterns_host: HostProcess, scratch: Path) -> None:
    flag = scratch / "block"
    flag.write_text("x")
    instance_id = start(patterns_host, "fragile", str(flag))
    failed = wait_for_status(patterns_host, instance_id)
    assert failed["runtimeStatus"] == "Failed"
    assert "blocked by" in failed["output"]
    flag.unlink()
    response = httpx.post(
        f"{patterns_host.management_url}/instances/{instance_id}/rewind",
        params={"code": patterns_host.master_key, "reason": "fixed"},
    )
    assert response.status_code == 202
    status = wait_for_status(patterns_host, instance_id, ("Completed",))
    assert status["output"] == {"first": 9, "second": "recovered"}


def test_rewind_reaches_a_failed_sub_orchestration(patterns_host: HostProcess, scratch: Path) -> None:
    flag = scratch / "block-child"
    flag.write_text("x")
    instance_id = start(patterns_host, "fragile_parent", str(flag))
    failed = wait_for_status(patterns_host, instance_id)
    assert failed["runtimeStatus"] == "Failed"
    assert "Orchestrator function 'fragile' failed" in failed["output"]
    flag.unlink()
    response = httpx.post(
        f"{patterns_host.management_url}/instances/{instance_id}/rewind",
        params={"code": patterns_host.master_key},
    )
    assert response.status_code == 202
    status = wait_for_status(patterns_host, instance_id, ("Completed",))
    assert status["output"] == {"child": {"first": 9, "second": "recovered"}}


def test_a_second_completion_for_a_finished_task_is_dropped(
    patterns_host: HostProcess, scratch: Path
) -> None:
    """The child fails, the parent catches it and moves on; the child, rewound on its own, then completes
    and reports again for the same task id: a stale completion the parent must never see."""
    flag = scratch / "block-tolerant"
    flag.write_text("x")
    instance_id = start(patterns_host, "tolerant_parent", str(flag))
    child_id = f"{instance_id}-c"
    assert wait_for_status(patterns_host, child_id)["runtimeStatus"] == "Failed"
    wait_until(
        lambda: "SubOrchestrationInstanceFailed" in history_kinds(patterns_host, instance_id),
        message="the parent to record the child's failure",
    )
    flag.unlink()
    api = {"code": patterns_host.master_key}
    rewound = httpx.post(f"{patterns_host.management_url}/instances/{child_id}/rewind", params=api)
    assert rewound.status_code == 202
    assert wait_for_status(patterns_host, child_id, ("Completed",))["output"] == {
        "first": 9,
        "second": "recovered",
    }
    raised = httpx.post(
        f"{patterns_host.management_url}/instances/{instance_id}/raiseEvent/go", params=api, json=1
    )
    assert raised.status_code == 202
    status = wait_for_status(patterns_host, instance_id, showHistory="true")
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"child": "failed", "go": 1}
    kinds = [e["EventType"] for e in status["historyEvents"]]
    assert kinds.count("SubOrchestrationInstanceFailed") == 1
    assert "SubOrchestrationInstanceCompleted" not in kinds


def history_kinds(host: HostProcess, instance_id: str) -> list[str]:
    status = get_status(host, instance_id, showHistory="true") or {}
    return [e["EventType"] for e in status.get("historyEvents", [])]


def test_a_number_as_child_id_or_activity_name_is_read_as_text(patterns_host: HostProcess) -> None:
    child_number = int(uuid.uuid4().int % 10**12)
    instance_id = start(patterns_host, "loose_types", child_number)
    status = wait_for_status(patterns_host, instance_id)
    assert status["runtimeStatus"] == "Failed", status
    assert status["output"].startswith(
        "Orchestrator function 'loose_types' failed: The function '404' doesn't exist"
    )
    child = get_status(patterns_host, str(child_number))
    assert child is not None and child["output"] == f"Hello Num! (child of {instance_id})"


def test_orchestrators_async_activities_and_http_functions_share_one_loop(patterns_host: HostProcess) -> None:
    here = httpx.get(f"{patterns_host.base_url}/api/where", timeout=10).json()
    status = wait_for_status(patterns_host, start(patterns_host, "where_orchestrator"))
    assert status["output"] == {"activity_loop": here["loop"], "orchestrator_thread": here["thread"]}


def test_purge_deletes_the_instance(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "chain", ["X"])
    wait_for_status(patterns_host, instance_id)
    url = f"{patterns_host.management_url}/instances/{instance_id}"
    response = httpx.delete(url, params={"code": patterns_host.master_key})
    assert response.json() == {"instancesDeleted": 1}
    assert get_status(patterns_host, instance_id) is None
    assert httpx.delete(url, params={"code": patterns_host.master_key}).status_code == 404


def test_starting_an_id_that_is_running_is_rejected(patterns_host: HostProcess) -> None:
    instance_id = start(patterns_host, "long_wait", instance_id="dedup-running-1")
    wait_for_status(patterns_host, instance_id, ("Running",))
    again = httpx.post(
        f"{patterns_host.base_url}/api/start/long_wait",
        params={"code": patterns_host.function_key, "instance_id": instance_id},
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["error"]
    direct = httpx.post(
        f"{patterns_host.management_url}/orchestrators/long_wait/{instance_id}",
        params={"code": patterns_host.master_key},
    )
    assert direct.status_code == 409
    assert "Running already exists" in direct.json()["ExceptionMessage"]


def test_custom_classes_as_inputs_and_results(patterns_host: HostProcess) -> None:
    response = httpx.post(f"{patterns_host.base_url}/api/points", json={"x": 1, "y": 2})
    assert response.status_code == 202
    status = wait_for_status(patterns_host, response.json()["id"])
    assert status["output"] == {"type": "Point", "x": 10, "y": 20, "input_type": "Point"}


def test_custom_class_as_orchestrator_output_fails_as_in_azure(patterns_host: HostProcess) -> None:
    status = wait_for_status(patterns_host, start(patterns_host, "point_output"))
    assert status["runtimeStatus"] == "Failed"
    assert "Object of type Point is not JSON serializable" in status["output"]


def test_nondeterminism_is_detected_and_reported_as_failed(patterns_host: HostProcess) -> None:
    status = wait_for_status(patterns_host, start(patterns_host, "nondeterministic"))
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Non-Deterministic workflow detected:")
    assert "'say_hello'" in status["output"] and "'square'" in status["output"]


def test_a_v1_style_orchestrator_runs_on_the_simulated_numbering(
    patterns_host: HostProcess, scratch: Path
) -> None:
    """A generic-trigger orchestrator cannot be observed, so retries, timers and task_any go through
    simulation.plan_episode; it also gets ``func.OrchestrationContext`` as from the worker's converter."""
    jobs = [{"key": f"v1-{n}", "fail_times": n, "dir": str(scratch)} for n in (2, 0, 1)]
    status = wait_for_status(patterns_host, start(patterns_host, "v1_retries_race", jobs))
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"attempts": [3, 1, 2], "timer_won": True, "after": 49}


def test_nondeterminism_is_detected_on_the_simulated_numbering(patterns_host: HostProcess) -> None:
    status = wait_for_status(patterns_host, start(patterns_host, "v1_nondeterministic"))
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Non-Deterministic workflow detected:")
    assert "'say_hello'" in status["output"] and "'square'" in status["output"]
