"""Deterministic names: orchestration instance ids and capture names.

The instance id depends on the target and the cooldown window of the alert's *fired* time (not the arrival
time), so retried webhooks, the same alert through several action groups and alert storms map to one run.
"""

from __future__ import annotations

import hashlib
import re
import uuid
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


def capture_name(target_id: str, window: datetime) -> str:
    """Capture name from what the run is about, not the instance id: ``alertcap-<24 hex>-YYYYMMDDHHMM``.

    The hash covers the lower-cased target id and the window start, so a restarted, re-created or parallel
    instance for the same target and window finds the same capture; the readable window start lets cleanup
    tell the capture's age (:func:`capture_created_before`).
    """
    start = window.astimezone(UTC)
    digest = hashlib.sha256(f"capture|{target_id.lower()}|{start:%Y-%m-%dT%H:%M:%SZ}".encode()).hexdigest()
    return f"{PREFIX}{digest[:24]}-{start:%Y%m%d%H%M}"


def email_operation_id(capture: str, outcome: str) -> str:
    """The ACS ``Operation-Id`` of a run's email: a UUID derived from the capture name and the run's outcome.

    The same run (a replay, a retried activity, an operator restart of the same window) sends the same id, so
    the email service answers with the existing operation instead of sending a second email; a rewound run
    whose outcome changed gets a new email.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alertcap:email:{capture}:{outcome}"))


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
