"""The host's cheap paths give what the general ones give: event timestamps, log lines, and a burst of starts
sharing one commit (the same id started twice at once is created once)."""

import asyncio
import datetime as dt
import io
import logging

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from devstack.host.history import format_ts, parse_ts
from devstack.host.logs import LOG_FORMAT, HostFormatter
from devstack.host.testing import HostProcess

ZONES = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(-dt.timedelta(hours=8))]
)


@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=ZONES))
def test_event_timestamps_are_the_strftime_text(moment: dt.datetime) -> None:
    assert format_ts(moment) == moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _parse_general(text: str) -> dt.datetime:
    """parse_ts without its fast path: the text with Z as +00:00 and the fraction cut to 6 digits."""
    head, _, rest = text[:-1].partition(".")
    moment = dt.datetime.fromisoformat(f"{head}.{rest[:6].ljust(6, '0')}+00:00")
    return moment.astimezone(dt.UTC)


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1), timezones=st.just(dt.UTC)))
def test_the_host_s_own_timestamps_parse_back_to_the_same_moment(moment: dt.datetime) -> None:
    text = format_ts(moment)
    parsed = parse_ts(text)
    assert parsed == moment == _parse_general(text)
    assert parsed.tzinfo is dt.UTC
    assert parse_ts(text[:-2] + "9Z") == moment  # a 7th digit the host did not write is still cut


def test_other_timestamp_forms_still_parse() -> None:
    assert parse_ts("2026-01-02T03:04:05Z") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert parse_ts("2026-01-02T03:04:05.12Z") == dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)


def test_log_lines_read_as_the_standard_formatter_writes_them() -> None:
    standard = logging.Formatter(LOG_FORMAT)
    ours = HostFormatter()
    for created in (1_764_300_000.0, 1_764_300_000.999, 1_764_300_001.0005, 1_764_300_001.5, 1_700_000_000.2):
        record = logging.LogRecord("devstack.host", logging.INFO, __file__, 1, "episode %s", ("x",), None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert ours.format(record) == standard.format(record)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ours)
    handler.handle(logging.LogRecord("n", logging.WARNING, __file__, 1, "a %d b", (7,), None))
    assert stream.getvalue().endswith(" WARNING n: a 7 b\n")


async def _start_twice(host: HostProcess, instance_id: str) -> list[int]:
    url = f"{host.management_url}/orchestrators/long_wait/{instance_id}"
    async with aiohttp.ClientSession() as session:

        async def start() -> int:
            async with session.post(url, params={"code": host.master_key}) as response:
                await response.read()
                return response.status

        return sorted(await asyncio.gather(start(), start(), start()))


def test_starting_one_id_at_once_creates_it_once(patterns_host: HostProcess) -> None:
    """Starts wait for the dispatcher's shared commit; each is checked against the ones before it."""
    assert asyncio.run(_start_twice(patterns_host, "same-burst-1")) == [202, 409, 409]
