"""Parse the times operators type: `30m`, `2h`, `7d`, `1w` (ago), `now`, or ISO 8601 (naive = UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from alertcap_cli.errors import UsageError

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now: datetime | None = None, option: str = "time") -> datetime:
    """Return an aware UTC datetime for `text`; relative durations count back from `now`."""
    now = now or datetime.now(UTC)
    value = text.strip()
    if value.lower() == "now":
        return now
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2).lower()
        return now - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"{option}: cannot read {text!r} as a time",
            "use a duration ago such as 30m, 2h, 7d, or an ISO 8601 time such as 2026-11-25T21:00:00Z",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_api_time(text: str | None) -> datetime | None:
    """Parse a timestamp from the Durable API (`yyyy-MM-ddTHH:mm:ssZ`, maybe with 7 fraction digits)."""
    if not text:
        return None
    value = text.strip()
    match = re.match(r"^(.*\.\d{6})\d+(Z|[+-]\d\d:\d\d)?$", value)
    if match:
        value = match.group(1) + (match.group(2) or "")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_api_time(moment: datetime) -> str:
    """Format a time the way the Durable API reads query values (`%Y-%m-%dT%H:%M:%S.%fZ`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso(moment: datetime | None) -> str | None:
    """The stable JSON form of a time: ISO 8601 UTC with `Z`, seconds precision unless finer."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def age(moment: datetime | None, *, now: datetime | None = None) -> str:
    """A short human age such as `45s`, `12m`, `3h`, `2d`."""
    if moment is None:
        return "-"
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
