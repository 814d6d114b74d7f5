"""The JSON record of one capture run (the orchestration output) and the orchestration input."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.alerts import AlertSummary
from core.capture_files import CaptureFile
from core.errors import InvalidRequest
from core.orchestration import RUN_FAILED
from core.targets import Target

DEFAULT_EMAIL_RETRY_SECONDS = 3600

CONFIG_INT_FIELDS = (
    "time_limit_seconds", "bytes_per_packet", "total_bytes", "region_limit", "limit_wait_seconds",
    "limit_retry_interval_seconds", "cleanup_retention_seconds", "overrun_grace_seconds",
    "retry_interval_ms", "retry_attempts",
)


@dataclass(frozen=True)
class CaptureRequest:
    """The orchestration input, built by the HTTP starter."""

    target: Target
    alert: AlertSummary
    window_start: str
    config: dict[str, Any]
    sentry: dict[str, Any] | None = None  # the armed target's sentry view (core.sentry.SentryView) or None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = {"target": self.target.to_dict(), "alert": self.alert.to_dict(),
                "window_start": self.window_start, "config": dict(self.config)}
        if self.sentry is not None:
            data["sentry"] = dict(self.sentry)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> CaptureRequest:
        """Validate and decode an orchestration input; raise :class:`InvalidRequest` naming the bad field."""
        if not isinstance(data, dict):
            raise InvalidRequest("input", "must be an object")
        target = Target.from_dict(data.get("target"))
        if not isinstance(data.get("alert"), dict):
            raise InvalidRequest("alert", "must be an object")
        window = data.get("window_start")
        if not isinstance(window, str) or not window:
            raise InvalidRequest("window_start", "must be an ISO timestamp")
        config = data.get("config")
        if not isinstance(config, dict):
            raise InvalidRequest("config", "must be an object")
        for name in CONFIG_INT_FIELDS:
            value = config.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidRequest(f"config.{name}", "must be a non-negative integer")
        if not isinstance(config.get("storage_account_id"), str):
            raise InvalidRequest("config.storage_account_id", "must be a string")
        if not isinstance(config.get("filters"), list):
            raise InvalidRequest("config.filters", "must be a list")
        retry = config.get("email_retry_seconds", DEFAULT_EMAIL_RETRY_SECONDS)  # absent in older inputs
        if not isinstance(retry, int) or isinstance(retry, bool) or retry < 0:
            raise InvalidRequest("config.email_retry_seconds", "must be a non-negative integer")
        if not isinstance(config.get("agent_auto_install"), bool):
            raise InvalidRequest("config.agent_auto_install", "must be a boolean")
        if not isinstance(config.get("network_watcher_auto_create", False), bool):
            raise InvalidRequest("config.network_watcher_auto_create", "must be a boolean")
        sentry = data.get("sentry")
        if sentry is not None and not isinstance(sentry, dict):
            raise InvalidRequest("sentry", "must be an object")
        return cls(target, AlertSummary.from_dict(data["alert"]), window, config, sentry)


@dataclass
class RunRecord:
    """Everything one run did; the orchestration output (``to_dict``)."""

    instance_id: str
    target: str
    target_type: str
    alert: dict[str, str]
    status: str = RUN_FAILED
    reason: str = ""
    phase: str = "locating"
    location: str = ""
    network_watcher: str = ""
    capture_name: str = ""
    capture_id: str = ""
    storage_path: str = ""
    capture_status: str = ""
    stop_reason: str = ""
    capture_errors: list[str] = field(default_factory=list)
    size_bytes: int | None = None
    files: list[CaptureFile] = field(default_factory=list)  # one per blob; a scale set's has one per instance
    stopped_by_us: bool = False
    agent_installed_by_us: bool = False
    network_watcher_created_by_us: bool = False
    limit_waits: int = 0
    status_checks: int = 0
    stale_captures_deleted: list[str] = field(default_factory=list)
    extra_alerts: list[dict[str, str]] = field(default_factory=list)
    extra_alert_count: int = 0
    email_message_id: str = ""
    email_error: str = ""
    email_attempts: int = 0
    notification: str = ""  # NOTIFICATION_SENT | NOTIFICATION_FAILED once the run has tried to notify
    triage: dict[str, Any] = field(default_factory=dict)  # core.triage_model.TriageResult.to_dict()
    timings: dict[str, str] = field(default_factory=dict)
    armed: bool = False  # the target had a sentry: the evidence is harvested from its continuous capture
    incident_before_seconds: float | None = None
    incident_after_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["files"] = [CaptureFile.from_dict(f) for f in known.get("files") or []]
        return cls(**known)
