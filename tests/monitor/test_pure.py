"""Pure pieces of the monitor: counter parsing, the window, the payload's formats, target lookup."""

from __future__ import annotations

import pytest

from devstack.config import AlertRuleConfig
from devstack.monitor.metrics import CounterFormatError, parse_int_counter, parse_snmp_counter
from devstack.monitor.payload import azure_datetime, format_threshold, iso_duration, window_datetime
from devstack.monitor.rules import breaches
from devstack.monitor.targets import resolve_target
from devstack.monitor.window import CounterWindow

SNMP = "\n".join([
    "Ip: Forwarding DefaultTTL InReceives",
    "Ip: 1 64 10",
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab"
    " InSegs OutSegs",
    "Tcp: 1 200 120000 -1 40 2 0 0 2 6952 5049",
    "Udp: InDatagrams NoPorts",
    "Udp: 1 2",
])


def test_parse_snmp_outsegs():
    assert parse_snmp_counter(SNMP) == 5049
    assert parse_snmp_counter(SNMP, field="InSegs") == 6952


@pytest.mark.parametrize("text", ["", "Tcp: OutSegs\n", "Tcp: InSegs\nTcp: 1\n"])
def test_parse_snmp_rejects_other_shapes(text):
    with pytest.raises(CounterFormatError):
        parse_snmp_counter(text)


def test_parse_int_counter():
    assert parse_int_counter("1234\n", "tx_bytes") == 1234
    with pytest.raises(CounterFormatError, match="tx_bytes"):
        parse_int_counter("n/a", "tx_bytes")


def test_window_total_is_growth_over_the_window():
    window = CounterWindow(60)
    for t in range(0, 130, 10):
        window.add(t, t * 3)
    total = window.total()
    assert (total.value, total.start, total.end) == (180, 60, 120)


def test_window_before_it_is_full_counts_from_the_first_sample():
    window = CounterWindow(60)
    assert window.total() is None
    window.add(0, 100)
    window.add(10, 150)
    assert window.total().value == 50


def test_window_restarts_when_the_counter_goes_down():
    window = CounterWindow(60)
    window.add(0, 1000)
    window.add(10, 5)
    window.add(20, 25)
    assert window.total().value == 20


@pytest.mark.parametrize(("seconds", "iso"), [(300, "PT5M"), (10, "PT10S"), (3600, "PT1H"), (90, "PT1M30S")])
def test_iso_duration(seconds, iso):
    assert iso_duration(seconds) == iso


def test_azure_timestamps():
    assert azure_datetime(1553263104.371321) == "2019-03-22T13:58:24.3713210Z"
    assert window_datetime(1639530251.719) == "2021-12-15T01:04:11.719Z"


def test_threshold_is_a_string_like_azures():
    assert format_threshold(100.0) == "100"
    assert format_threshold(2.5) == "2.5"


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("GreaterThan", 101, True), ("GreaterThan", 100, False), ("GreaterThanOrEqual", 100, True),
    ("LessThan", 99, True), ("LessThanOrEqual", 101, False),
])
def test_operators(op, value, expected):
    assert breaches(op, value, 100) is expected


def test_unknown_operator_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown operator 'Above'"):
        breaches("Above", 1, 0)


def test_resolve_target_by_name_or_id(config):
    vm = next(v for v in config.vms if v.name == "vm-demo")
    by_name = AlertRuleConfig("r", "VM-DEMO", "TcpSegmentsSent", "GreaterThan", 1, 10, 10)
    by_id = AlertRuleConfig("r", vm.id.upper(), "TcpSegmentsSent", "GreaterThan", 1, 10, 10)
    assert resolve_target(config, by_name).netns == "alertcap-vm-demo"
    assert resolve_target(config, by_id).resource_id == vm.id
    with pytest.raises(ValueError, match="vm-nope"):
        resolve_target(config, AlertRuleConfig("r", "vm-nope", "TcpSegmentsSent", "GreaterThan", 1, 10, 10))
