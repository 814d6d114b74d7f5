"""Fixtures for the monitor tests: a real webhook receiver on loopback and an evaluator wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devstack.config import AlertRuleConfig, DevstackConfig, load_config
from devstack.monitor import AlertEvaluator
from devstack.monitor.testing import ManualClock, SettableCounters, SleepRecorder, WebhookReceiver

FUNCTION_KEY = "test-function-key-0123456789"


@pytest.fixture
def config() -> DevstackConfig:
    return load_config(None)


@pytest.fixture
def rule() -> AlertRuleConfig:
    return AlertRuleConfig(name="tcp-segments-sent", vm="vm-demo", metric="TcpSegmentsSent",
                           operator="GreaterThan", threshold=100, window_seconds=60, frequency_seconds=10,
                           severity=2, description="TCP segments sent > 100 in 1 minute")


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def counters() -> SettableCounters:
    return SettableCounters()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def evaluator(config, rule, receiver, counters, clock, sleeps) -> AsyncIterator[AlertEvaluator]:
    monitor = AlertEvaluator(config, receiver.url, FUNCTION_KEY, None, rules=[rule], counters=counters,
                             clock=clock, sleep=sleeps)
    await monitor.start(periodic=False)
    yield monitor
    await monitor.stop()
