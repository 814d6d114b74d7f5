"""Deterministic names: orchestration instance ids and capture names.

The instance id depends on the target and the cooldown window of the alert's *fired* time (not the arrival
time), so retried webhooks, the same alert through several action groups and alert storms map to one run.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

PREFIX = "alertcap-"
_CAPTURE_NAME = re.compile(r"^alertcap-[0-9a-f]{24}-(\d{12})$")


def window_start(fired_at: datetime, cooldown_seconds: int) -> datetime:
    """Start of the fixed cooldown window (aligned to the Unix epoch) that contains ``fired_at``."""
    epoch = int(fired_at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % cooldown_seconds, UTC)


def instance_id(target_id: str, fired_at: datetime, cooldown_seconds: int) -> str:
    """``alertcap-<24 hex>`` from the lower-cased target id and the window start."""
    window = window_start(fired_at, cooldown_seconds).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha256(f"{target_id.lower()}|{window}".encode()).hexdigest()
    return PREFIX + digest[:24]


def capture_name(instance: str, window: datetime) -> str:
    """Capture name: the instance id plus the window start (``YYYYMMDDHHMM``), so cleanup can tell its age."""
    return f"{instance}-{window.astimezone(UTC):%Y%m%d%H%M}"


def capture_created_before(name: str) -> datetime | None:
    """The window start encoded in one of our capture names, or None if ``name`` is not ours."""
    match = _CAPTURE_NAME.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%d%H%M").replace(tzinfo=UTC)


def is_stale(name: str, now: datetime, retention_seconds: int) -> bool:
    """True when ``name`` is one of ours and its window started more than the retention ago."""
    created = capture_created_before(name)
    return created is not None and now - created > timedelta(seconds=retention_seconds)
