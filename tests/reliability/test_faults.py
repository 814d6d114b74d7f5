"""ARM and ACS faults through the real SDKs and the durable host: one capture, one blob and one email per run
whatever Azure answers, an email that arrives after an ACS outage, and "notification failed" when ACS stays
down."""

from __future__ import annotations

import asyncio
from typing import Any

import product_payloads as p
import pytest
import reliability_kit as kit

from devstack.testing import AdminClient, DevstackState, wait_until

pytestmark = pytest.mark.e2e


def start_runs(stack: DevstackState, vms: list[str]) -> set[str]:
    bodies = [p.common_metric_static(targets=[vm.lower()], fired=kit.fired_now()) for vm in vms]
    answers = asyncio.run(kit.post_alerts(stack, bodies, clients=len(bodies)))
    assert all(a.status == 202 for a in answers), [(a.status, a.body) for a in answers]
    return kit.run_ids(answers)


def assert_one_of_each(stack: DevstackState, admin: AdminClient, vms: list[str],
                       runs: dict[str, dict[str, Any]], status: str = "succeeded") -> None:
    outputs = [r["output"] for r in runs.values()]
    assert all(r["runtimeStatus"] == "Completed" for r in runs.values()), runs
    assert [o["status"] for o in outputs] == [status] * len(vms), outputs
    assert set(kit.captures_per_vm(admin, vms).values()) == {1}
    assert set(kit.blobs_per_vm(stack, vms).values()) == {1}, "a second pcap (or none) for a run"
    if status == "succeeded":
        assert set(kit.emails_per_vm(admin, vms).values()) == {1}


def test_a_failing_create_poll_never_makes_a_second_capture(stack: DevstackState, admin: AdminClient) -> None:
    """Defect 1 as the issue saw it: the create's status polls fail past the first capture's end."""
    vms = kit.add_vms(admin, stack, 1, "poll")
    admin.add_fault({"service": "arm", "operation": "AsyncOperations_Get", "status": 500, "delay": 2,
                     "count": 4})
    runs = kit.wait_for_runs(stack, start_runs(stack, vms))
    assert_one_of_each(stack, admin, vms, runs)


@pytest.mark.parametrize("fault", [
    {"status": 429, "retry_after": 1}, {"status": 429}, {"status": 500}, {"status": 503}, {"drop": True}],
    ids=["429-retry-after", "429", "500", "503", "dropped"])
def test_arm_faults_on_a_fifth_of_the_calls_give_the_same_outcome(
        stack: DevstackState, admin: AdminClient, fault: dict[str, Any]) -> None:
    vms = kit.add_vms(admin, stack, 3, "flt")
    admin.add_fault({"service": "arm", "operation": "*", "ratio": 0.2, **fault})
    runs = kit.wait_for_runs(stack, start_runs(stack, vms))
    assert sum(f["fired"] for f in admin.faults()) > 0
    assert_one_of_each(stack, admin, vms, runs)


def phase_of(stack: DevstackState, run_id: str) -> str:
    status = kit.run_status(stack, run_id) or {}
    custom = status.get("customStatus") or {}
    return custom.get("phase", "") if isinstance(custom, dict) else ""


def test_an_acs_outage_delays_the_email_until_it_ends(stack: DevstackState, admin: AdminClient) -> None:
    vms = kit.add_vms(admin, stack, 1, "acs")
    admin.add_fault({"service": "acs", "operation": "*", "status": 503, "retry_after": 0})
    (run_id,) = start_runs(stack, vms)
    wait_until(lambda: phase_of(stack, run_id) == "waiting to retry the email", 60, interval=0.2,
               message="the email waits for a retry")
    assert kit.emails_per_vm(admin, vms) == {vms[0]: 0}
    admin.clear_faults("acs")
    runs = kit.wait_for_runs(stack, {run_id})
    output = runs[run_id]["output"]
    assert output["notification"] == "sent" and output["email_attempts"] >= 2, output
    assert_one_of_each(stack, admin, vms, runs)


def test_a_permanent_acs_outage_says_notification_failed(stack: DevstackState, admin: AdminClient) -> None:
    vms = kit.add_vms(admin, stack, 1, "acsdown")
    admin.add_fault({"service": "acs", "operation": "*", "status": 503, "retry_after": 0})
    runs = kit.wait_for_runs(stack, start_runs(stack, vms), timeout=120)
    (status,) = runs.values()
    assert status["customStatus"]["notification"] == "failed"
    assert status["output"]["notification"] == "failed" and status["output"]["email_message_id"] == ""
    assert_one_of_each(stack, admin, vms, runs, status="succeeded, notification failed")
    assert kit.emails_per_vm(admin, vms) == {vms[0]: 0}
