"""The host's memoised stand-ins for the SDK's timestamp parser and namedtuple give the very same results."""

import collections
import datetime as dt
import importlib
import random

from dateutil.parser import parse as dateutil_parse

from devstack.host import sdk_speedups
from devstack.host.history import format_ts


def _same(text: str) -> None:
    expected = dateutil_parse(text)
    got = sdk_speedups.parse_timestamp(text)
    assert got == expected, text
    assert (got.replace(tzinfo=None), got.utcoffset(), got.fold) == (
        expected.replace(tzinfo=None),
        expected.utcoffset(),
        expected.fold,
    ), text
    assert type(got.tzinfo) is type(expected.tzinfo), text


def test_timestamps_the_host_writes_parse_as_dateutil_parses_them() -> None:
    rng = random.Random(14)
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for _ in range(2000):
        moment = start + dt.timedelta(seconds=rng.randrange(10**9), microseconds=rng.randrange(10**6))
        _same(format_ts(moment))


def test_other_timestamp_forms_parse_as_dateutil_parses_them() -> None:
    for text in [
        "2026-11-28T05:46:46Z",
        "2026-11-28T05:46:46.1Z",
        "2026-11-28T05:46:46.123Z",
        "2026-11-28T05:46:46.1234567Z",
        "2026-11-28T05:46:46.9999999Z",
        "2026-11-28T05:46:46.123456+02:00",
        "2026-11-28T05:46:46.123456",
        "2026-11-28 05:46:46",
    ]:
        _same(text)


def test_installed_in_the_sdk_modules() -> None:
    history_event = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    sdk_speedups.install()
    sdk_speedups.install()  # idempotent: the parser is not wrapped twice
    assert history_event.dt_parse.memoised
    assert history_event.dt_parse.__wrapped__ is dateutil_parse
    event = history_event.HistoryEvent(
        EventType=12, EventId=-1, IsPlayed=False, Timestamp="2026-01-02T03:04:05.5Z"
    )
    assert event.timestamp == dateutil_parse("2026-01-02T03:04:05.5Z")
    first = executor.TaskOrchestrationExecutor()
    second = executor.TaskOrchestrationExecutor()
    assert first.event_to_SetTaskValuePayload == second.event_to_SetTaskValuePayload
    payload = type(next(iter(first.event_to_SetTaskValuePayload.values())))
    assert payload is type(next(iter(second.event_to_SetTaskValuePayload.values())))  # built once
    assert payload._fields == ("is_success", "task_id_key")
    built = sdk_speedups._memoised_namedtuple("P", ["a", "b"])  # an unhashable field list still works
    assert built._fields == collections.namedtuple("P", ["a", "b"])._fields
