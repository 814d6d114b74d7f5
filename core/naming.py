"""Deterministic names: orchestration instance ids and capture names.

A run's cooldown starts at its first alert's *fired* time (not the arrival time), so retried webhooks, the
same alert through several action groups and alert storms map to one run. The instance id is the target's
prefix (so one listing finds a target's runs) plus a hash of the clock-aligned slot of the fired time (so
concurrent deliveries of alerts in one slot contend for one id); which run an alert joins is decided in
``core.cooldown`` and ``http_starter.handler``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta

RUN_PREFIX = "alertcap-"  # every capture run's instance id and capture name starts with it
_CAPTURE_NAME = re.compile(r"^alertcap-[0-9a-f]{24}-(\d{12})$")
TARGET_HASH_CHARS = 16
SLOT_HASH_CHARS = 8


def window_start(fired_at: datetime, cooldown_seconds: int) -> datetime:
    """Start of the clock-aligned slot (cooldown long, aligned to the Unix epoch) that contains ``fired_at``.

    Slots only name instance ids; the cooldown itself runs from a run's first alert (:func:`cooldown_start`).
    """
    epoch = int(fired_at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % cooldown_seconds, UTC)


def cooldown_start(fired_at: datetime) -> datetime:
    """Where a run's cooldown starts: its first alert's fired time, in UTC, to the whole second."""
    return fired_at.astimezone(UTC).replace(microsecond=0)


def run_prefix(target_id: str) -> str:
    """``alertcap-<16 hex>``: the instance-id prefix all runs of ``target_id`` share (id case ignored)."""
    return RUN_PREFIX + hashlib.sha256(target_id.lower().encode()).hexdigest()[:TARGET_HASH_CHARS]


def instance_id(target_id: str, fired_at: datetime, cooldown_seconds: int) -> str:
    """``alertcap-<24 hex>``: the target's prefix plus 8 hex of the fired time's slot."""
    slot = window_start(fired_at, cooldown_seconds).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha256(f"{target_id.lower()}|{slot}".encode()).hexdigest()
    return run_prefix(target_id) + digest[:SLOT_HASH_CHARS]


def capture_name(target_id: str, window: datetime) -> str:
    """Capture name from what the run is about, not the instance id: ``alertcap-<24 hex>-YYYYMMDDHHMM``.

    The hash covers the lower-cased target id and the window start, so a restarted, re-created or parallel
    instance for the same target and window finds the same capture; the readable window start lets cleanup
    tell the capture's age (:func:`capture_created_before`).
    """
    start = window.astimezone(UTC)
    digest = hashlib.sha256(f"capture|{target_id.lower()}|{start:%Y-%m-%dT%H:%M:%SZ}".encode()).hexdigest()
    return f"{RUN_PREFIX}{digest[:24]}-{start:%Y%m%d%H%M}"


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
