"""The evaluator against a real aiohttp webhook receiver: fire, stay quiet while firing, resolve."""

from __future__ import annotations

from datetime import datetime

import pytest

from devstack.monitor.rules import Decision

VM = "vm-demo"
METRIC = "TcpSegmentsSent"


async def step(evaluator, clock, counters, segments: int, seconds: float = 10):
    """Let `seconds` pass with `segments` sent in them, then evaluate once."""
    clock.advance(seconds)
    counters.add(VM, METRIC, segments)
    [evaluation] = await evaluator.evaluate_once()
    await evaluator.wait_delivered()
    return evaluation


async def test_fires_once_on_a_breach(evaluator, clock, counters, receiver, config):
    counters.set(VM, METRIC, 5000)
    first = await step(evaluator, clock, counters, 0, 0)
    assert first.decision is Decision.OK and first.value == 0
    quiet = await step(evaluator, clock, counters, 40)
    assert quiet.decision is Decision.OK and quiet.value == 40
    assert receiver.calls == []

    fired = await step(evaluator, clock, counters, 200)
    assert fired.decision is Decision.FIRE and fired.value == 240

    [call] = receiver.calls
    assert call.query == {"code": "test-function-key-0123456789"}
    essentials = call.body["data"]["essentials"]
    vm = next(v for v in config.vms if v.name == VM)
    assert call.body["schemaId"] == "azureMonitorCommonAlertSchema"
    assert essentials["monitorCondition"] == "Fired"
    assert essentials["alertTargetIDs"] == [vm.id.lower()]
    assert essentials["configurationItems"] == [VM]
    assert essentials["severity"] == "Sev2"
    assert essentials["signalType"] == "Metric" and essentials["monitoringService"] == "Platform"
    assert essentials["alertRule"] == "tcp-segments-sent"
    assert essentials["alertId"].startswith(f"/subscriptions/{vm.subscription_id}/providers/"
                                            "Microsoft.AlertsManagement/alerts/")
    assert "resolvedDateTime" not in essentials
    assert datetime.fromisoformat(essentials["firedDateTime"]).timestamp() == clock.now()
    condition = call.body["data"]["alertContext"]["condition"]
    assert condition["windowSize"] == "PT1M"
    [criterion] = condition["allOf"]
    assert criterion["metricName"] == "TCP segments sent"
    assert criterion["threshold"] == "100" and criterion["metricValue"] == 240
    assert criterion["operator"] == "GreaterThan" and criterion["timeAggregation"] == "Total"
    assert criterion["dimensions"] == [{"name": "ResourceId", "value": vm.vm_id}]
    assert evaluator.notifications[0].result.delivered


async def test_does_not_fire_again_while_firing(evaluator, clock, counters, receiver):
    await step(evaluator, clock, counters, 0, 0)
    assert (await step(evaluator, clock, counters, 500)).decision is Decision.FIRE
    for _ in range(4):
        again = await step(evaluator, clock, counters, 500)
        assert again.decision is Decision.STILL_FIRING
    assert len(receiver.calls) == 1


async def test_resolves_after_three_clean_evaluations(evaluator, clock, counters, receiver):
    await step(evaluator, clock, counters, 0, 0)
    await step(evaluator, clock, counters, 300)
    fired_body = receiver.calls[0].body
    # The 300 segments stay in the 60 s window for 5 more evaluations: still breaching.
    decisions = [(await step(evaluator, clock, counters, 0)).decision for _ in range(5)]
    assert decisions == [Decision.STILL_FIRING] * 5
    clean = [(await step(evaluator, clock, counters, 0)).decision for _ in range(3)]
    assert clean == [Decision.CLEAN_WHILE_FIRING, Decision.CLEAN_WHILE_FIRING, Decision.RESOLVE]

    assert len(receiver.calls) == 2
    resolved = receiver.calls[1].body["data"]["essentials"]
    fired = fired_body["data"]["essentials"]
    assert resolved["monitorCondition"] == "Resolved"
    assert resolved["alertId"] == fired["alertId"]
    assert resolved["firedDateTime"] == fired["firedDateTime"]
    assert datetime.fromisoformat(resolved["resolvedDateTime"]).timestamp() == clock.now()
    assert receiver.calls[1].body["data"]["alertContext"]["condition"]["allOf"][0]["metricValue"] == 0

    # A new breach after resolving is a new alert instance.
    assert (await step(evaluator, clock, counters, 300)).decision is Decision.FIRE
    assert receiver.calls[2].body["data"]["essentials"]["alertId"] != fired["alertId"]


async def test_a_breach_during_the_clean_streak_restarts_it(evaluator, clock, counters, receiver):
    await step(evaluator, clock, counters, 0, 0)
    await step(evaluator, clock, counters, 300, 60)
    assert (await step(evaluator, clock, counters, 0, 60)).decision is Decision.CLEAN_WHILE_FIRING
    assert (await step(evaluator, clock, counters, 0, 60)).decision is Decision.CLEAN_WHILE_FIRING
    assert (await step(evaluator, clock, counters, 150, 60)).decision is Decision.STILL_FIRING
    assert (await step(evaluator, clock, counters, 0, 60)).decision is Decision.CLEAN_WHILE_FIRING
    assert len(receiver.calls) == 1


async def test_an_unreadable_counter_is_logged_and_changes_nothing(config, rule, receiver, clock, caplog):
    from devstack.monitor import AlertEvaluator

    class Broken:
        async def read(self, target, metric):
            raise OSError("namespace alertcap-vm-demo is gone")

    monitor = AlertEvaluator(config, receiver.url, "k", None, rules=[rule], counters=Broken(), clock=clock)
    await monitor.start(periodic=False)
    try:
        with caplog.at_level("INFO", logger="devstack.monitor"):
            [evaluation] = await monitor.evaluate_once()
    finally:
        await monitor.stop()
    assert evaluation.outcome is None and "namespace alertcap-vm-demo is gone" in evaluation.error
    assert "unreadable" in caplog.text
    assert receiver.calls == []


async def test_every_evaluation_decision_is_logged(evaluator, clock, counters, caplog):
    with caplog.at_level("INFO", logger="devstack.monitor"):
        await step(evaluator, clock, counters, 0, 0)
        await step(evaluator, clock, counters, 250)
    lines = [r.getMessage() for r in caplog.records if r.name == "devstack.monitor"]
    assert any("0 GreaterThan 100 -> no breach: ok" in line for line in lines)
    assert any("250 GreaterThan 100 -> breach: fire" in line for line in lines)
    assert all("test-function-key" not in line for line in lines)


async def test_notifications_go_to_the_journal_named_by_the_environment(
        config, rule, receiver, counters, clock, tmp_path, monkeypatch):
    import json

    from devstack.monitor import AlertEvaluator
    from devstack.monitor.evaluator import JOURNAL_ENV

    journal = tmp_path / "monitor" / "notifications.jsonl"
    monkeypatch.setenv(JOURNAL_ENV, str(journal))
    monitor = AlertEvaluator(config, receiver.url, "journal-secret-key", None, rules=[rule],
                             counters=counters, clock=clock)
    await monitor.start(periodic=False)
    try:
        await step(monitor, clock, counters, 0, 0)
        await step(monitor, clock, counters, 150)
    finally:
        await monitor.stop()
    text = journal.read_text()
    [entry] = [json.loads(line) for line in text.splitlines()]
    assert entry["payload"]["data"]["essentials"]["monitorCondition"] == "Fired"
    assert entry["delivery"]["delivered"] is True
    assert entry["delivery"]["attempts"] == [{"status": 202, "error": None}]
    assert entry["delivery"]["response"] == {"runs": [{"id": "run-1"}]}
    assert "journal-secret-key" not in text


async def test_periodic_start_evaluates_at_once_and_stop_ends_every_task(config, rule, receiver, counters):
    import asyncio

    from devstack.monitor import AlertEvaluator

    seen = []
    monitor = AlertEvaluator(config, receiver.url, "k", None, rules=[rule], counters=counters,
                             on_evaluation=seen.append)
    await monitor.start()
    try:
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert [e.decision for e in seen] == [Decision.OK]
        with pytest.raises(RuntimeError, match="already started"):
            await monitor.start()
    finally:
        await monitor.stop()
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith(("evaluate ", "deliver "))] == []


async def test_a_failing_evaluation_does_not_stop_the_schedule(config, rule, receiver, counters):
    import asyncio
    import dataclasses

    from devstack.monitor import AlertEvaluator

    calls = []

    def flaky(evaluation):
        calls.append(evaluation)
        if len(calls) == 1:
            raise RuntimeError("observer failed")

    fast = dataclasses.replace(rule, frequency_seconds=0.01)
    monitor = AlertEvaluator(config, receiver.url, "k", None, rules=[fast], counters=counters,
                             on_evaluation=flaky)
    await monitor.start()
    try:
        async with asyncio.timeout(5):
            while len(calls) < 3:
                await asyncio.sleep(0.01)
    finally:
        await monitor.stop()
    assert len(calls) >= 3
