"""An alert storm at CI size (bench/reliability.py runs 1,000 alerts / 50 VMs / 20 clients / 5 repeats):
exactly one run, one capture, one blob and one email per VM, and no 5xx."""

from __future__ import annotations

import pytest
import reliability_kit as kit

from devstack.testing import AdminClient, DevstackState

pytestmark = pytest.mark.e2e


def test_a_storm_gives_one_run_capture_and_email_per_vm(stack: DevstackState, admin: AdminClient) -> None:
    result = kit.storm(stack, admin, vm_count=10, alerts=100, clients=10, repeats=2)
    assert result.server_errors == 0, [(a.status, a.body) for a in result.answers if a.status >= 500][:3]
    assert len(result.answers) == 300 and len(result.runs) == 10
    assert all(r["output"]["status"] == "succeeded" for r in result.runs.values())
    assert set(result.captures.values()) == {1} and set(result.blobs.values()) == {1}
    assert set(result.emails.values()) == {1}
    assert sum(r["output"]["extra_alert_count"] for r in result.runs.values()) >= 90 - 10
