"""When to check a running capture: first near its expected end, then a bounded backoff.

The number of checks does not grow with the capture duration (a 5-hour capture needs the same handful of
checks as a 5-minute one), which keeps the orchestration history small.
"""

from __future__ import annotations

FIRST_CHECK_SLACK_SECONDS = 5
FIRST_BACKOFF_SECONDS = 10
MAX_BACKOFF_SECONDS = 300


def status_check_offsets(
    time_limit_seconds: int,
    grace_seconds: int,
    first_slack: int = FIRST_CHECK_SLACK_SECONDS,
    first_backoff: int = FIRST_BACKOFF_SECONDS,
    max_backoff: int = MAX_BACKOFF_SECONDS,
) -> list[int]:
    """Seconds after the capture started at which to query its status.

    The last offset is ``time_limit + grace``: if the capture still runs then, the orchestrator stops it.
    """
    deadline = time_limit_seconds + grace_seconds
    offsets = [min(time_limit_seconds + first_slack, deadline)]
    delay = first_backoff
    while offsets[-1] < deadline:
        offsets.append(min(offsets[-1] + delay, deadline))
        delay = min(delay * 2, max_backoff)
    return offsets


EMAIL_FIRST_RETRY_SECONDS = 30
EMAIL_MAX_RETRY_DELAY_SECONDS = 300


def email_retry_delays(window_seconds: int) -> list[int]:
    """Durable-timer delays between email attempts, doubling up to a cap, that fit in ``window_seconds``.

    The first delay and the cap scale down for short windows (a 60 s window retries after 1, 2, 4, 8, 10...
    seconds), so the number of attempts, and with it the history, stays bounded whatever the window.
    """
    first = max(1, min(EMAIL_FIRST_RETRY_SECONDS, window_seconds // 120))
    cap = max(first, min(EMAIL_MAX_RETRY_DELAY_SECONDS, window_seconds // 6))
    delays: list[int] = []
    total, delay = 0, first
    while total + delay <= window_seconds:
        delays.append(delay)
        total += delay
        delay = min(delay * 2, cap)
    return delays
