"""The shared `devstack_host_state` fixture: the durable host runs with our app settings and keys."""

import httpx

from devstack.testing import DevstackState


def test_host_fixture_runs_the_function_host_with_our_settings(devstack_host_state: DevstackState) -> None:
    state = devstack_host_state
    assert state.function_host and state.function_key and state.master_key and state.task_hub == "alertcap"
    with httpx.Client(base_url=state.function_host, timeout=10) as http:
        status = http.get("/admin/host/status", headers={"x-functions-key": state.master_key})
        assert status.status_code == 200 and status.json()["state"] == "Running"
        assert http.get("/admin/host/status").status_code == 401
    settings = state.app_settings
    assert settings["ACS_ENDPOINT"] == state.acs_endpoint and settings["ARM_ENDPOINT"] == state.arm_endpoint
