"""Sentry: the pure part of keeping a continuous (ring-buffer) capture on an armed target.

An armed target has one eternal orchestration (`sentry_instance_id`) that keeps exactly one continuous capture
running, named by generation (`ring_capture_name`). The ring is sized from the operator's lookback and byte
budget (`RingSizing.plan`). Everything here travels between the HTTP API, the orchestrator and the activities
as dataclasses with `to_dict`/`from_dict`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.errors import InvalidRequest
from core.targets import AZURE_VM, AZURE_VMSS, Target

SENTRY_PREFIX = "sentry-"
RING_NAME_PREFIX = "alertcap-ring-"

DEFAULT_LOOKBACK_SECONDS = 900
DEFAULT_BUDGET_BYTES = 2 * 1024**3
DEFAULT_AFTER_SECONDS = 60
DEFAULT_SESSION_SECONDS = 86400
DEFAULT_RENEW_MARGIN_SECONDS = 300
DEFAULT_WATCH_SECONDS = 60
MIN_LOOKBACK_SECONDS = 10
MAX_LOOKBACK_SECONDS = 7 * 86400
MIN_BUDGET_BYTES = 8 * 1024  # small rings are for tests and demos
MAX_BUDGET_BYTES = 10000 * 4294967295
MAX_SESSION_SECONDS = 604800  # captureSettings.sessionTimeLimitInSeconds
MAX_FILE_COUNT = 10000  # captureSettings.fileCount
MAX_FILE_BYTES = 256 * 1024 * 1024  # Copy Blob From URL copies sources up to 256 MiB in one call
MIN_FILE_BYTES = 4 * 1024
SECONDS_PER_FILE = 60  # the harvest's granularity: about one file per minute of lookback
MAX_SESSIONS_KEPT = 4  # earlier sessions whose files a harvest may still need (a lookback across renewals)


def _digest(target_id: str) -> str:
    return hashlib.sha256(target_id.lower().encode()).hexdigest()


def sentry_instance_id(target_id: str) -> str:
    """The sentry orchestration of a target: `sentry-<20 hex>` of the lower-cased id (one per target)."""
    return SENTRY_PREFIX + _digest(target_id)[:20]


def ring_name_prefix(target_id: str) -> str:
    """The name prefix every ring capture of this target carries (`alertcap-ring-<16 hex>-`)."""
    return f"{RING_NAME_PREFIX}{_digest(target_id)[:16]}-"


def ring_capture_name(target_id: str, generation: int) -> str:
    """The capture name of one session: the prefix plus the generation, so a retry finds its own capture."""
    return f"{ring_name_prefix(target_id)}{generation}"


@dataclass(frozen=True)
class RingSizing:
    """The continuous capture's `captureSettings`."""

    file_count: int
    file_size_bytes: int
    session_seconds: int

    @classmethod
    def plan(cls, lookback_seconds: int, budget_bytes: int, session_seconds: int) -> RingSizing:
        """About one file per minute of lookback (at least 2, so a closed file survives each rotation), the
        budget split evenly between them, each no larger than one server-side copy can take."""
        count = min(MAX_FILE_COUNT, max(2, -(-lookback_seconds // SECONDS_PER_FILE) + 1))
        size = budget_bytes // count
        if size > MAX_FILE_BYTES:
            size = MAX_FILE_BYTES
            count = min(MAX_FILE_COUNT, budget_bytes // size)
        while size < MIN_FILE_BYTES and count > 2:
            count -= 1
            size = budget_bytes // count
        return cls(count, size, session_seconds)

    def capture_settings(self) -> dict[str, int]:
        """The REST `captureSettings` object."""
        return {"fileCount": self.file_count, "fileSizeInBytes": self.file_size_bytes,
                "sessionTimeLimitInSeconds": self.session_seconds}

    @property
    def ring_bytes(self) -> int:
        """The most the ring holds in storage at once (files never grow past `file_size_bytes`)."""
        return self.file_count * self.file_size_bytes


def _int_field(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(name, "must be an integer")
    if not low <= value <= high:
        raise InvalidRequest(name, f"must be between {low} and {high}")
    return value


def _filters(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    fields = {"protocol", "localIPAddress", "remoteIPAddress", "localPort", "remotePort"}
    if not isinstance(value, list) or len(value) > 10:
        raise InvalidRequest("filters", "must be a list of at most 10 packet capture filters")
    for item in value:
        strings = isinstance(item, dict) and all(isinstance(v, str) for v in item.values())
        if not strings or set(item) - fields:
            raise InvalidRequest("filters", f"each filter is an object of strings with keys {sorted(fields)}")
    return tuple(dict(item) for item in value)


@dataclass(frozen=True)
class ArmRequest:
    """What an operator asks for when arming a target (the HTTP API's body, decoded)."""

    target: Target
    lookback_seconds: int = DEFAULT_LOOKBACK_SECONDS
    budget_bytes: int = DEFAULT_BUDGET_BYTES
    after_seconds: int = DEFAULT_AFTER_SECONDS
    session_seconds: int = DEFAULT_SESSION_SECONDS
    renew_margin_seconds: int = DEFAULT_RENEW_MARGIN_SECONDS
    watch_seconds: int = DEFAULT_WATCH_SECONDS
    filters: tuple[dict[str, str], ...] = ()  # Network Watcher filters for the ring; () = the app's filters

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["target"] = self.target.to_dict()
        data["filters"] = [dict(f) for f in self.filters]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ArmRequest:
        """Validate; raise :class:`InvalidRequest` naming the first bad field."""
        if not isinstance(data, dict):
            raise InvalidRequest("body", "must be a JSON object")
        target = Target.from_dict(data.get("target"))
        if target.target_type not in (AZURE_VM, AZURE_VMSS):
            raise InvalidRequest("target.target_type", "only virtual machines and scale sets can be armed")
        if target.scope_include:
            raise InvalidRequest("target.scope_include", "a scale set is armed whole (every instance)")
        session = _int_field(data, "session_seconds", DEFAULT_SESSION_SECONDS, 60, MAX_SESSION_SECONDS)
        request = cls(
            target=target,
            lookback_seconds=_int_field(data, "lookback_seconds", DEFAULT_LOOKBACK_SECONDS,
                                        MIN_LOOKBACK_SECONDS, MAX_LOOKBACK_SECONDS),
            budget_bytes=_int_field(data, "budget_bytes", DEFAULT_BUDGET_BYTES, MIN_BUDGET_BYTES,
                                    MAX_BUDGET_BYTES),
            after_seconds=_int_field(data, "after_seconds", DEFAULT_AFTER_SECONDS, 0, 3600),
            session_seconds=session,
            renew_margin_seconds=_int_field(data, "renew_margin_seconds",
                                            min(DEFAULT_RENEW_MARGIN_SECONDS, session // 2), 1, session - 1),
            watch_seconds=_int_field(data, "watch_seconds", DEFAULT_WATCH_SECONDS, 1, 3600),
            filters=_filters(data.get("filters")),
        )
        return request

    @property
    def sizing(self) -> RingSizing:
        """The ring's captureSettings for this request."""
        return RingSizing.plan(self.lookback_seconds, self.budget_bytes, self.session_seconds)


@dataclass(frozen=True)
class RingSession:
    """One continuous capture the sentry started: where its files go and when it began."""

    name: str
    capture_id: str
    storage_path: str
    started: str  # ISO time the sentry saw it created

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RingSession:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["name"]), str(data["capture_id"]), str(data["storage_path"]),
                   str(data["started"]))


@dataclass(frozen=True)
class SentryState:
    """The sentry orchestration's input: the request, the app's capture config and what it has done so far."""

    request: ArmRequest
    config: dict[str, Any]
    generation: int = 1
    watcher_id: str = ""
    sessions: tuple[RingSession, ...] = ()
    renewals: int = 0
    last_gap_seconds: float | None = None
    max_gap_seconds: float | None = None
    retired: tuple[str, ...] = ()  # storage paths of sessions too old to harvest: their files are deleted

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"request": self.request.to_dict(), "config": dict(self.config), "generation": self.generation,
                "watcher_id": self.watcher_id, "sessions": [s.to_dict() for s in self.sessions],
                "renewals": self.renewals, "last_gap_seconds": self.last_gap_seconds,
                "max_gap_seconds": self.max_gap_seconds, "retired": list(self.retired)}

    @classmethod
    def from_dict(cls, data: Any) -> SentryState:
        """Validate and decode (the orchestrator checks its input first)."""
        if not isinstance(data, dict):
            raise InvalidRequest("input", "must be an object")
        if not isinstance(data.get("config"), dict):
            raise InvalidRequest("config", "must be an object")
        sessions = data.get("sessions") or []
        if not isinstance(sessions, list):
            raise InvalidRequest("sessions", "must be a list")
        generation = data.get("generation", 1)
        if not isinstance(generation, int) or generation < 1:
            raise InvalidRequest("generation", "must be a positive integer")
        return cls(ArmRequest.from_dict(data.get("request")), data["config"], generation,
                   str(data.get("watcher_id") or ""), tuple(RingSession.from_dict(s) for s in sessions),
                   int(data.get("renewals") or 0), data.get("last_gap_seconds"), data.get("max_gap_seconds"),
                   tuple(str(r) for r in data.get("retired") or []))

    def with_session(self, session: RingSession) -> SentryState:
        """This state with `session` as the newest (older ones beyond MAX_SESSIONS_KEPT forgotten)."""
        kept = (*(s for s in self.sessions if s.name != session.name), session)
        dropped = tuple(s.storage_path for s in kept[:-MAX_SESSIONS_KEPT] if s.storage_path)
        return replace(self, sessions=kept[-MAX_SESSIONS_KEPT:], retired=(*self.retired, *dropped))

    def with_gap(self, seconds: float) -> SentryState:
        """This state after a renewal that left the VM uncaptured for `seconds`."""
        worst = seconds if self.max_gap_seconds is None else max(self.max_gap_seconds, seconds)
        return replace(self, last_gap_seconds=seconds, max_gap_seconds=worst)

    @property
    def current(self) -> RingSession | None:
        """The session of the current generation, once created."""
        wanted = ring_capture_name(self.request.target.id, self.generation)
        return next((s for s in self.sessions if s.name == wanted), None)


@dataclass(frozen=True)
class SentryView:
    """What the sentry publishes as its custom status: the API's `list` and the alert starter read it."""

    target: str
    armed: bool
    lookback_seconds: int
    after_seconds: int
    budget_bytes: int
    file_count: int
    file_size_bytes: int
    generation: int
    capture_name: str
    storage_paths: tuple[str, ...] = ()
    renewals: int = 0
    last_gap_seconds: float | None = None
    max_gap_seconds: float | None = None
    phase: str = ""
    target_type: str = AZURE_VM
    watcher_id: str = ""  # where the ring captures are: the harvest also finds sessions begun after the alert

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["storage_paths"] = list(self.storage_paths)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> SentryView | None:
        """Decode a custom status; None when it is not a sentry view (e.g. not published yet)."""
        if not isinstance(data, dict) or "target" not in data:
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["storage_paths"] = tuple(known.get("storage_paths") or ())
        try:
            return cls(**known)
        except TypeError:
            return None

    @classmethod
    def of(cls, state: SentryState, phase: str, armed: bool = True) -> SentryView:
        """The view of a state."""
        sizing = state.request.sizing
        return cls(target=state.request.target.id, armed=armed,
                   lookback_seconds=state.request.lookback_seconds,
                   after_seconds=state.request.after_seconds, budget_bytes=state.request.budget_bytes,
                   file_count=sizing.file_count, file_size_bytes=sizing.file_size_bytes,
                   generation=state.generation,
                   capture_name=ring_capture_name(state.request.target.id, state.generation),
                   storage_paths=tuple(s.storage_path for s in state.sessions if s.storage_path),
                   renewals=state.renewals, last_gap_seconds=state.last_gap_seconds,
                   max_gap_seconds=state.max_gap_seconds, phase=phase,
                   target_type=state.request.target.target_type, watcher_id=state.watcher_id)


@dataclass(frozen=True)
class RingPlan:
    """Activity input: create (or find) the continuous capture of one generation."""

    watcher_id: str
    name: str
    target: Target
    sizing: RingSizing
    storage_account_id: str
    filters: list[dict[str, str]] = field(default_factory=list)
    bytes_per_packet: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"watcher_id": self.watcher_id, "name": self.name, "target": self.target.to_dict(),
                "sizing": asdict(self.sizing), "storage_account_id": self.storage_account_id,
                "filters": [dict(f) for f in self.filters], "bytes_per_packet": self.bytes_per_packet}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RingPlan:
        """Inverse of :meth:`to_dict`."""
        return cls(data["watcher_id"], data["name"], Target.from_dict(data["target"]),
                   RingSizing(**data["sizing"]), data["storage_account_id"], list(data.get("filters") or []),
                   int(data.get("bytes_per_packet") or 0))


@dataclass(frozen=True)
class RingSweep:
    """Activity input: stop (and delete) every ring capture of a target except `keep` (crash leftovers, the
    previous generation after a renewal, or all of them on disarm when `keep` is empty)."""

    watcher_id: str
    name_prefix: str
    keep: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RingSweep:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["watcher_id"]), str(data["name_prefix"]), str(data.get("keep") or ""))


@dataclass(frozen=True)
class RingPrune:
    """Activity input: delete the oldest files of earlier sessions until all sessions fit the budget."""

    storage_paths: tuple[str, ...]  # oldest session first; the last one is the running session
    budget_bytes: int
    retired: tuple[str, ...] = ()  # sessions no harvest reads any more: all their files go
    per_instance: bool = False  # a scale set: each path is a folder of per-instance rings, each within budget

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"storage_paths": list(self.storage_paths), "budget_bytes": self.budget_bytes,
                "retired": list(self.retired), "per_instance": self.per_instance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RingPrune:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["storage_paths"]), int(data["budget_bytes"]), tuple(data.get("retired") or ()),
                   bool(data.get("per_instance")))
