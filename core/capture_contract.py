"""Payloads of the packet-capture activities: clean up and count a region's captures (``prepare_region``),
create one (``create_capture``), read its status (``query_capture``) and stop it (``stop_capture``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.contract import Payload
from core.targets import Target


@dataclass(frozen=True)
class RegionRequest(Payload):
    """Input of ``prepare_region``: the watcher, the run's clock, how long finished captures stay."""

    watcher_id: str
    now: str  # ISO timestamp: activities take time from the orchestration, never from their own clock
    retention_seconds: int


@dataclass(frozen=True)
class RegionState(Payload):
    """Output value of ``prepare_region``: captures left in the watcher, and the stale ones deleted now."""

    session_count: int
    deleted: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaptureCreateRequest(Payload):
    """Input of ``create_capture``: the capture name derives from the target and the window, so a retry finds
    its own capture; ``config`` is the run's capture configuration (``Settings.capture_config``)."""

    watcher_id: str
    name: str
    target: Target
    config: dict[str, Any]


@dataclass(frozen=True)
class CreatedCapture(Payload):
    """Output value of ``create_capture``; ``existed`` when an earlier attempt had created it."""

    id: str
    name: str
    provisioning_state: str = ""
    storage_path: str = ""
    existed: bool = False


@dataclass(frozen=True)
class CaptureRef(Payload):
    """Input of ``query_capture`` and ``stop_capture``: the capture's ARM id."""

    capture_id: str


@dataclass(frozen=True)
class CaptureState(Payload):
    """Output value of ``query_capture``: ``packetCaptureStatus`` as sent, stop reason, errors."""

    status: str
    stop_reason: str = ""
    errors: tuple[str, ...] = ()
    start_time: str = ""


@dataclass(frozen=True)
class StopResult(Payload):
    """Output value of ``stop_capture``: False when the capture had already ended (nothing was done)."""

    stopped: bool
