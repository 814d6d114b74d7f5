"""The email retry delays and the capture status-check schedule."""

from __future__ import annotations

import pytest

from core.schedule import email_retry_delays, status_check_offsets


def test_email_retry_delays_back_off_and_fit_the_window() -> None:
    hour = email_retry_delays(3600)
    assert hour[:4] == [30, 60, 120, 240] and max(hour) == 300 and sum(hour) <= 3600 and len(hour) <= 20
    minute = email_retry_delays(60)
    assert minute[0] == 1 and sum(minute) <= 60 and minute == sorted(minute)
    assert email_retry_delays(0) == []


@pytest.mark.parametrize(("limit", "grace"), [(10, 30), (300, 300), (3600, 300), (18000, 300), (18000, 3600)])
def test_status_checks_start_near_the_end_and_stay_few(limit: int, grace: int) -> None:
    offsets = status_check_offsets(limit, grace)
    assert offsets[0] >= limit and offsets[0] <= limit + 10
    assert offsets == sorted(set(offsets)) and offsets[-1] == limit + grace
    assert len(offsets) <= 20


def test_five_hour_capture_needs_at_most_20_checks() -> None:
    assert len(status_check_offsets(18000, 300)) <= 20
