"""Durations and sizes as operators type them for `alertcap sentry arm`."""

from __future__ import annotations

import pytest

from alertcap_cli.errors import UsageError
from alertcap_cli.units import format_size, parse_duration, parse_size


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200),
                                               (" 1D ", 86400)])
def test_durations(text, seconds):
    assert parse_duration(text, option="--lookback") == seconds


@pytest.mark.parametrize(("text", "size"), [("1048576", 1048576), ("2GiB", 2 * 1024**3),
                                            ("500MB", 500 * 10**6), ("1.5 KiB", 1536)])
def test_sizes(text, size):
    assert parse_size(text, option="--budget") == size


@pytest.mark.parametrize("text", ["", "15x", "-1m", "m"])
def test_bad_durations_name_the_option(text):
    with pytest.raises(UsageError, match="--lookback"):
        parse_duration(text, option="--lookback")


def test_bad_sizes_and_formatting():
    with pytest.raises(UsageError, match="--budget"):
        parse_size("2 gigs", option="--budget")
    assert format_size(2 * 1024**3) == "2.0 GiB" and format_size(300) == "300 B" and format_size(None) == ""
