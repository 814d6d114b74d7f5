"""host.json and function_app.py as the issue asks: bundle range, task hub, fast queue polling, limits."""

from __future__ import annotations

import json
from datetime import timedelta

from core.orchestration import CAPTURE_ORCHESTRATOR, SENTRY_ORCHESTRATOR
from devstack.paths import REPO_ROOT


def _timespan(text: str) -> timedelta:
    hours, minutes, seconds = text.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))


def test_host_json_starts_captures_quickly_with_bounded_concurrency() -> None:
    host = json.loads((REPO_ROOT / "host.json").read_text())
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "alertcap"
    assert _timespan(durable["storageProvider"]["maxQueuePollingInterval"]) <= timedelta(seconds=2)
    assert 1 <= durable["maxConcurrentActivityFunctions"] <= 100
    assert 1 <= durable["maxConcurrentOrchestratorFunctions"] <= 100


def test_function_app_registers_the_webhook_orchestrator_and_activities() -> None:
    from function_app import app

    functions = {f.get_function_name(): f for f in app.get_functions()}
    expected = {"alerts", "capture_orchestration", "locate_target", "create_capture", "send_email"}
    assert expected <= set(functions)
    for name in (CAPTURE_ORCHESTRATOR, SENTRY_ORCHESTRATOR):  # the names start_new uses, from one home
        assert functions[name].get_trigger().get_binding_name() == "orchestrationTrigger"
    webhook = functions["alerts"]
    trigger = webhook.get_trigger()
    assert trigger.route == "alerts" and str(trigger.auth_level).lower().endswith("function")
