"""App settings: every knob of the product, read from a mapping (``os.environ`` in production).

Only the HTTP starter and the activities read settings; the orchestrator receives what it needs in its input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from core.arm_ids import InvalidResourceId, parse_resource_id, parse_scope
from core.errors import ConfigurationError
from core.webhook_auth import WebhookAuthSettings

NumberT = TypeVar("NumberT", int, float)

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
MAX_TIME_LIMIT_SECONDS = 18000  # the Network Watcher maximum (5 h)
MAX_UINT32 = 4294967295
FILTER_KEYS = {"protocol", "localIPAddress", "remoteIPAddress", "localPort", "remotePort"}


@dataclass(frozen=True)
class Settings:
    """All product settings with their safe defaults (see docs/settings.md)."""

    acs_endpoint: str
    email_sender: str
    email_recipients: tuple[str, ...]
    capture_storage_account_id: str
    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    arm_audience: str = DEFAULT_ARM_ENDPOINT
    arm_polling_interval_seconds: float = 5.0
    capture_time_limit_seconds: int = 300
    capture_bytes_per_packet: int = 0
    capture_total_bytes: int = 1073741824
    capture_filters: tuple[dict[str, str], ...] = ()
    alert_cooldown_seconds: int = 900
    region_capture_limit: int = 100
    limit_wait_seconds: int = 1800
    limit_retry_interval_seconds: int = 60
    cleanup_retention_seconds: int = 86400
    overrun_grace_seconds: int = 300
    agent_auto_install: bool = False
    network_watcher_auto_create: bool = False
    allowed_scopes: tuple[tuple[str, str | None], ...] = ()
    activity_retry_interval_seconds: float = 5.0
    activity_retry_attempts: int = 5
    email_link_valid_hours: int = 72
    max_targets_per_alert: int = 20
    webhook_auth: WebhookAuthSettings = field(default_factory=WebhookAuthSettings)
    email_retry_seconds: int = 3600

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Build and validate settings from ``env``; raise :class:`ConfigurationError` naming the bad one."""
        settings = cls(
            acs_endpoint=_https_url(env, "ACS_ENDPOINT", None),
            email_sender=_required(env, "EMAIL_SENDER"),
            email_recipients=_recipients(env),
            capture_storage_account_id=_storage_account(env),
            arm_endpoint=_https_url(env, "ARM_ENDPOINT", DEFAULT_ARM_ENDPOINT).rstrip("/"),
            arm_audience=_https_url(env, "ARM_AUDIENCE", DEFAULT_ARM_ENDPOINT).rstrip("/"),
            arm_polling_interval_seconds=_number(env, "ARM_POLLING_INTERVAL_SECONDS", 5.0, 0, 60),
            capture_time_limit_seconds=_int(
                env, "CAPTURE_TIME_LIMIT_SECONDS", 300, 1, MAX_TIME_LIMIT_SECONDS),
            capture_bytes_per_packet=_int(env, "CAPTURE_BYTES_PER_PACKET", 0, 0, MAX_UINT32),
            capture_total_bytes=_int(env, "CAPTURE_TOTAL_BYTES", 1073741824, 1, MAX_UINT32),
            capture_filters=_filters(env),
            alert_cooldown_seconds=_int(env, "ALERT_COOLDOWN_SECONDS", 900, 60, 86400),
            region_capture_limit=_int(env, "REGION_CAPTURE_LIMIT", 100, 1, 10000),
            limit_wait_seconds=_int(env, "LIMIT_WAIT_SECONDS", 1800, 0, 86400),
            limit_retry_interval_seconds=_int(env, "LIMIT_RETRY_INTERVAL_SECONDS", 60, 1, 3600),
            cleanup_retention_seconds=_int(env, "CLEANUP_RETENTION_SECONDS", 86400, 0, 90 * 86400),
            overrun_grace_seconds=_int(env, "OVERRUN_GRACE_SECONDS", 300, 0, 3600),
            agent_auto_install=_bool(env, "AGENT_AUTO_INSTALL", False),
            network_watcher_auto_create=_bool(env, "NETWORK_WATCHER_AUTO_CREATE", False),
            allowed_scopes=_scopes(env),
            activity_retry_interval_seconds=_number(env, "ACTIVITY_RETRY_INTERVAL_SECONDS", 5.0, 0.001, 600),
            activity_retry_attempts=_int(env, "ACTIVITY_RETRY_ATTEMPTS", 5, 1, 20),
            email_link_valid_hours=_int(env, "EMAIL_LINK_VALID_HOURS", 72, 1, 7 * 24 - 1),  # key: <= 7 days
            max_targets_per_alert=_int(env, "MAX_TARGETS_PER_ALERT", 20, 1, 500),
            webhook_auth=WebhookAuthSettings.from_mapping(env),
            email_retry_seconds=_int(env, "EMAIL_RETRY_SECONDS", 3600, 0, 86400),
        )
        if settings.cleanup_retention_seconds < settings.longest_run_seconds():
            raise ConfigurationError("CLEANUP_RETENTION_SECONDS", (
                f"must be at least {settings.longest_run_seconds()} s (cooldown + limit wait + time limit + "
                "overrun grace + 10 min), or another run's cleanup deletes a capture still being read"))
        return settings

    def longest_run_seconds(self) -> int:
        """How long after its window starts a run may still read its capture (the cleanup retention floor)."""
        return (self.alert_cooldown_seconds + self.limit_wait_seconds + self.capture_time_limit_seconds
                + self.overrun_grace_seconds + 600)

    def capture_config(self) -> dict:
        """The part of the settings the orchestrator needs, passed in its input (JSON-ready)."""
        return {
            "storage_account_id": self.capture_storage_account_id,
            "time_limit_seconds": self.capture_time_limit_seconds,
            "bytes_per_packet": self.capture_bytes_per_packet,
            "total_bytes": self.capture_total_bytes,
            "filters": [dict(f) for f in self.capture_filters],
            "region_limit": self.region_capture_limit,
            "limit_wait_seconds": self.limit_wait_seconds,
            "limit_retry_interval_seconds": self.limit_retry_interval_seconds,
            "cleanup_retention_seconds": self.cleanup_retention_seconds,
            "overrun_grace_seconds": self.overrun_grace_seconds,
            "agent_auto_install": self.agent_auto_install,
            "network_watcher_auto_create": self.network_watcher_auto_create,
            "retry_interval_ms": max(1, int(self.activity_retry_interval_seconds * 1000)),
            "retry_attempts": self.activity_retry_attempts,
            "email_retry_seconds": self.email_retry_seconds,
        }


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def _required(env: Mapping[str, str], name: str) -> str:
    value = _raw(env, name)
    if value is None:
        raise ConfigurationError(name, "is required")
    return value


def _https_url(env: Mapping[str, str], name: str, default: str | None) -> str:
    value = _raw(env, name) or default
    if value is None:
        raise ConfigurationError(name, "is required")
    if not value.lower().startswith("https://"):
        raise ConfigurationError(name, "must be an https:// URL")
    return value


def _bounded(env: Mapping[str, str], name: str, default: NumberT, low: NumberT, high: NumberT,
             parse: Callable[[str], NumberT], kind: str) -> NumberT:
    value = _raw(env, name)
    if value is None:
        return default
    try:
        number = parse(value)
    except ValueError:
        raise ConfigurationError(name, f"must be {kind}, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigurationError(name, f"must be between {low} and {high}")
    return number


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _bounded(env, name, default, low, high, int, "an integer")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _bounded(env, name, default, low, high, float, "a number")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _raw(env, name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(name, f"must be true or false, got {value!r}")


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace(",", ";").split(";") if p.strip()]


def _recipients(env: Mapping[str, str]) -> tuple[str, ...]:
    recipients = tuple(_split(_required(env, "EMAIL_RECIPIENTS")))
    for address in recipients:
        if address.count("@") != 1 or not address.isascii():
            raise ConfigurationError("EMAIL_RECIPIENTS", f"{address!r} is not an email address")
    return recipients


def _storage_account(env: Mapping[str, str]) -> str:
    value = _required(env, "CAPTURE_STORAGE_ACCOUNT_ID")
    try:
        rid = parse_resource_id(value)
    except InvalidResourceId as exc:
        raise ConfigurationError("CAPTURE_STORAGE_ACCOUNT_ID", str(exc)) from None
    if rid.full_type != "microsoft.storage/storageaccounts":
        raise ConfigurationError("CAPTURE_STORAGE_ACCOUNT_ID", "is not a storage account id")
    return rid.id


def _filters(env: Mapping[str, str]) -> tuple[dict[str, str], ...]:
    value = _raw(env, "CAPTURE_FILTERS")
    if value is None:
        return ()
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        raise ConfigurationError("CAPTURE_FILTERS", "is not JSON") from None
    if not isinstance(items, list):
        raise ConfigurationError("CAPTURE_FILTERS", "must be a JSON list of filter objects")
    result = []
    for item in items:
        if not isinstance(item, dict) or not set(item) <= FILTER_KEYS:
            raise ConfigurationError("CAPTURE_FILTERS", f"entries may only have keys {sorted(FILTER_KEYS)}")
        if item.get("protocol", "Any") not in ("TCP", "UDP", "Any"):
            raise ConfigurationError("CAPTURE_FILTERS", "protocol must be TCP, UDP or Any")
        result.append({k: str(v) for k, v in item.items()})
    return tuple(result)


def _scopes(env: Mapping[str, str]) -> tuple[tuple[str, str | None], ...]:
    value = _raw(env, "ALLOWED_SCOPES")
    if value is None:
        return ()
    scopes = []
    for entry in _split(value):
        try:
            scopes.append(parse_scope(entry))
        except InvalidResourceId as exc:
            raise ConfigurationError("ALLOWED_SCOPES", f"{entry!r} {exc}") from None
    return tuple(scopes)
