"""The counter readers and the traffic generator against a real network namespace (needs root + `ip`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.demo.traffic import TrafficSink, run_burst_in_namespace
from devstack.monitor.counters import CounterReadError, NamespaceCounters
from devstack.monitor.targets import MetricTarget
from devstack.monitor.testing import scratch_namespace

pytestmark = pytest.mark.netns


def target_in(netns: str | None, interface: str = "lo") -> MetricTarget:
    return MetricTarget(resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
                        "virtualMachines/vm-t", name="vm-t", subscription_id="s", resource_group="rg",
                        vm_id="00000000-0000-0000-0000-000000000000", netns=netns, interface=interface)


@pytest.fixture
def namespace():
    with scratch_namespace() as ns:
        yield ns
    gone = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert ns.name not in gone


async def test_a_burst_from_the_namespace_raises_its_outsegs_and_tx_bytes(namespace):
    counters, target = NamespaceCounters(), target_in(namespace.name)
    segments_before = await counters.read(target, "TcpSegmentsSent")
    bytes_before = await counters.read(target, "NetworkOutTotal")
    sink = TrafficSink(namespace.outer_ip)
    port = await sink.start()
    try:
        burst = await run_burst_in_namespace(namespace.name, namespace.outer_ip, port, connections=5,
                                             messages=20, message_bytes=100, deadline_seconds=10)
    finally:
        await sink.stop()
    assert burst.connections == 5 and burst.messages == 100 and burst.errors == []
    assert sink.bytes_received == burst.bytes_sent == 10_000
    sent_segments = await counters.read(target, "TcpSegmentsSent") - segments_before
    # 5 x (SYN-ACK-side ACK + 20 data segments + FIN ...): at least one segment per message.
    assert sent_segments >= 100
    sent_bytes = await counters.read(target, "NetworkOutTotal") - bytes_before
    assert sent_bytes >= 10_000


async def test_reading_a_missing_namespace_is_a_clear_error():
    with pytest.raises(CounterReadError, match="alertcap-does-not-exist"):
        await NamespaceCounters().read(target_in("alertcap-does-not-exist"), "TcpSegmentsSent")


async def test_root_namespace_interface_tx_bytes():
    before = int(Path("/sys/class/net/lo/statistics/tx_bytes").read_text())
    value = await NamespaceCounters().read(target_in(None, "lo"), "NetworkOutTotal")
    assert value >= before > 0
    with pytest.raises(CounterReadError, match="cannot read"):
        await NamespaceCounters().read(target_in(None, "nosuchif0"), "NetworkOutTotal")


async def test_the_evaluator_fires_on_real_traffic_in_a_namespace(namespace, receiver, config):
    from dataclasses import replace

    from devstack.config import AlertRuleConfig
    from devstack.monitor import AlertEvaluator
    from devstack.monitor.rules import Decision
    from devstack.monitor.testing import ManualClock

    vm = replace(next(v for v in config.vms if v.name == "vm-demo"), netns=namespace.name)
    scoped = replace(config, vms=[vm])
    rule = AlertRuleConfig(name="net-out", vm="vm-demo", metric="NetworkOutTotal", operator="GreaterThan",
                           threshold=5000, window_seconds=60, frequency_seconds=10)
    clock = ManualClock()
    monitor = AlertEvaluator(scoped, receiver.url, "k", None, rules=[rule], clock=clock)
    sink = TrafficSink(namespace.outer_ip)
    port = await sink.start()
    await monitor.start(periodic=False)
    try:
        [baseline] = await monitor.evaluate_once()
        await run_burst_in_namespace(namespace.name, namespace.outer_ip, port, connections=2, messages=50,
                                     message_bytes=100, deadline_seconds=10)
        clock.advance(10)
        [fired] = await monitor.evaluate_once()
        await monitor.wait_delivered()
    finally:
        await monitor.stop()
        await sink.stop()
    assert baseline.decision is Decision.OK
    assert fired.decision is Decision.FIRE and fired.value >= 10_000
    [call] = receiver.calls
    criterion = call.body["data"]["alertContext"]["condition"]["allOf"][0]
    assert criterion["metricName"] == "Network Out Total" and criterion["metricValue"] == fired.value
