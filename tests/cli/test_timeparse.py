"""Times operators type, and the API's timestamps."""

from datetime import UTC, datetime, timedelta

import pytest

from alertcap_cli.errors import ExitCode, UsageError
from alertcap_cli.timeparse import age, format_api_time, iso, parse_api_time, parse_time

NOW = datetime(2026, 11, 25, 21, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "delta"), [
    ("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), ("2h", timedelta(hours=2)),
    ("7d", timedelta(days=7)), ("1w", timedelta(weeks=1)), ("1.5h", timedelta(minutes=90)),
    ("now", timedelta()),
])
def test_relative_times_count_back_from_now(text, delta):
    assert parse_time(text, now=NOW) == NOW - delta


def test_iso_times_naive_are_utc_and_offsets_convert():
    assert parse_time("2026-11-25T20:00:00", now=NOW) == datetime(2026, 11, 25, 20, tzinfo=UTC)
    assert parse_time("2026-11-25T22:00:00+02:00", now=NOW) == datetime(2026, 11, 25, 20, tzinfo=UTC)
    assert parse_time("2026-11-25", now=NOW) == datetime(2026, 11, 25, tzinfo=UTC)


def test_garbage_is_a_usage_error_naming_the_option():
    with pytest.raises(UsageError) as caught:
        parse_time("yesterday-ish", option="--since")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "--since" in caught.value.message


def test_api_timestamps_with_seven_digits_and_without_fraction():
    assert parse_api_time("2026-11-25T21:00:00Z") == NOW
    assert parse_api_time("2026-11-25T21:00:00.1234567Z") == NOW.replace(microsecond=123456)
    assert parse_api_time(None) is None and parse_api_time("junk") is None


def test_formats():
    assert format_api_time(NOW) == "2026-11-25T21:00:00.000000Z"
    assert iso(NOW) == "2026-11-25T21:00:00Z"
    assert age(NOW - timedelta(minutes=12), now=NOW) == "12m"
    assert age(NOW - timedelta(seconds=5), now=NOW) == "5s"
    assert age(None) == "-"
