"""kill -9 of the function host in every phase of a run: the devstack restarts it, every run ends, each with
exactly one capture blob (no orphans) and one email."""

from __future__ import annotations

import asyncio

import product_payloads as p
import pytest
import reliability_kit as kit

from devstack.testing import AdminClient, DevstackState, wait_until

pytestmark = pytest.mark.e2e
PHASES = ("locating", "cleaning", "creating", "capturing", "notifying")


def phases(stack: DevstackState, ids: set[str]) -> dict[str, str]:
    found = {}
    for run_id in ids:
        custom = (kit.run_status(stack, run_id) or {}).get("customStatus") or {}
        found[run_id] = custom.get("phase", "") if isinstance(custom, dict) else ""
    return found


def test_kill_9_in_every_phase_loses_and_doubles_nothing(stack: DevstackState, admin: AdminClient) -> None:
    vms = kit.add_vms(admin, stack, len(PHASES), "crash")
    # slow every Azure call a little so each phase lasts long enough to be caught
    admin.add_fault({"service": "arm", "operation": "*", "delay": 0.7})
    admin.add_fault({"service": "acs", "operation": "*", "delay": 1.5})
    bodies = [p.common_metric_static(targets=[vm.lower()], fired=kit.fired_now()) for vm in vms]
    ids: set[str] = set()
    hit: list[str] = []
    for body, phase in zip(bodies, PHASES, strict=True):
        (answer,) = asyncio.run(kit.post_alerts(stack, [body], clients=1))
        assert answer.status == 202, answer.body
        ids |= kit.run_ids([answer])
        (run_id,) = kit.run_ids([answer])
        wait_until(lambda r=run_id, ph=phase: phases(stack, {r})[r] == ph, 60, interval=0.05,
                   message=f"a run in phase {phase}")
        old = kit.kill_host(stack)
        hit.append(phase)
        kit.wait_host_back(stack, old)
    assert hit == list(PHASES)
    runs = kit.wait_for_runs(stack, ids, timeout=180)
    outputs = {r["output"]["target"].lower(): r["output"] for r in runs.values()}
    assert all(r["runtimeStatus"] == "Completed" for r in runs.values())
    assert all(o["status"] == "succeeded" and o["notification"] == "sent" for o in outputs.values()), outputs
    assert set(kit.captures_per_vm(admin, vms).values()) == {1}
    assert set(kit.blobs_per_vm(stack, vms).values()) == {1}, kit.blobs_per_vm(stack, vms)
    assert set(kit.emails_per_vm(admin, vms).values()) == {1}, kit.emails_per_vm(admin, vms)
    assert kit.health(stack)["parts"]["host"]["restarts"] >= len(PHASES)
