"""A devstack in WEBHOOK_AUTH=entra: its Azure Monitor calls the webhook without the function key, with a
token Entra issued to Azure Monitor's application; the run captures and emails. A call without a token is
refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import product_payloads as p
import pytest

from devstack.demo import observe
from devstack.monitor.journal import journal_path, read_journal
from devstack.testing import AdminClient, DevstackState, wait_until

pytestmark = pytest.mark.e2e
ALERT_TIMEOUT = 90.0
RUN_TIMEOUT = 60.0


def delivered(state: DevstackState) -> dict[str, Any] | None:
    """The first Fired notification the monitor delivered (loopback traffic from this test makes it fire)."""
    for _ in range(20):  # TLS round trips on loopback count as TCP segments sent
        httpx.get(f"{state.admin_url}/captures", verify=state.ssl_context(), timeout=10)
    for entry in read_journal(journal_path(Path(state.state_dir))):
        result = entry.get("delivery") or {}
        if result.get("delivered") and observe.run_ids(result.get("response")):
            return entry
    return None


def test_monitor_sends_a_secure_webhook_and_the_run_captures_and_emails(entra_stack: DevstackState) -> None:
    entry = wait_until(lambda: delivered(entra_stack), ALERT_TIMEOUT, interval=0.5,
                       message="a secure webhook delivered")
    assert entry["delivery"]["attempts"][-1]["status"] == 202
    (run_id,) = observe.run_ids(entry["delivery"]["response"])

    def finished() -> dict[str, Any] | None:
        response = httpx.get(f"{entra_stack.function_host}/runtime/webhooks/durabletask/instances/{run_id}",
                             params={"code": entra_stack.master_key}, timeout=10)
        body = response.json() if response.status_code == 200 else None
        return body if body and body["runtimeStatus"] in ("Completed", "Failed", "Terminated") else None

    status = wait_until(finished, RUN_TIMEOUT, interval=0.3, message=f"run {run_id} finished")
    output = status["output"]
    assert output["status"] == "succeeded", output
    with AdminClient(entra_stack) as admin:
        captures = [c for c in admin.captures() if c["target"].lower().endswith("/vm-demo")]
        emails = [e for e in admin.emails() if "vm-demo" in e["subject"]]
    assert len(captures) == 1 and captures[0]["name"] == output["capture_name"]
    assert len(emails) == 1 and emails[0]["id"] == output["email_message_id"]


def test_without_a_token_the_webhook_is_refused_even_with_the_key(entra_stack: DevstackState) -> None:
    url = f"{entra_stack.function_host}/api/alerts"
    body = p.common_metric_static(targets=[p.VM_ID])
    for params in ({}, {"code": entra_stack.function_key}):
        response = httpx.post(url, params=params, json=body, timeout=10)
        assert response.status_code == 401 and response.json()["check"] == "token", response.text
    settings = entra_stack.app_settings
    assert settings["WEBHOOK_AUTH"] == "entra"
    assert settings["WEBHOOK_AUTHORITY_HOST"] == entra_stack.entra_authority
    discovery = httpx.get(f"{entra_stack.entra_authority}/{entra_stack.tenant_id}/v2.0/.well-known/"
                          "openid-configuration", verify=entra_stack.ssl_context(), timeout=10).json()
    assert discovery["issuer"] == f"https://login.microsoftonline.com/{entra_stack.tenant_id}/v2.0"
    keys = httpx.get(discovery["jwks_uri"], verify=entra_stack.ssl_context(), timeout=10).json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"] and "d" not in keys[0]  # public halves only
