"""Host settings: the app's host.json (``extensions.durableTask``, bundle, timeout) and local settings."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class HostConfigError(Exception):
    """The app's host.json or settings file cannot be used."""


SUPPORTED_BUNDLE_ID = "Microsoft.Azure.Functions.ExtensionBundle"
SUPPORTED_BUNDLE_MAJOR = 4
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
TASK_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")


@dataclass(frozen=True)
class HostConfig:
    """What the host reads from host.json (DF 2.x schema)."""

    hub_name: str = "TestHubName"
    max_concurrent_activities: int = 10 * (os.cpu_count() or 1)
    max_concurrent_orchestrations: int = 10 * (os.cpu_count() or 1)
    max_queue_polling_interval: str = "00:00:30"
    overridable_existing_states: str = "NonRunningStates"
    default_version: str | None = None
    function_timeout_seconds: float | None = None
    route_prefix: str = "api"


def _read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or a HostConfigError naming the file and what is wrong with it."""
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise HostConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise HostConfigError(f"{path}: must be a JSON object")
    return data


def load_settings(path: Path | None) -> dict[str, str]:
    """``Values`` of a local.settings.json-shaped file ({} if the file does not exist)."""
    if path is None or not path.exists():
        return {}
    data = _read_json_object(path)
    values = data.get("Values") or {}
    if not isinstance(values, dict):
        raise HostConfigError(f"{path}: 'Values' must be an object")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def _substitute(value: str) -> str:
    """``%APPSETTING%`` substitution as host.json allows."""
    return re.sub(r"%([^%]+)%", lambda m: os.environ.get(m.group(1), ""), value)


def parse_timespan(text: str) -> float:
    """A .NET TimeSpan ``[d.]hh:mm:ss[.fff]`` in seconds."""
    match = re.fullmatch(r"(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)", text.strip())
    if not match:
        raise HostConfigError(f"not a TimeSpan: {text!r}")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _check_bundle(bundle: Any) -> None:
    if bundle is None:
        return
    if not isinstance(bundle, dict) or bundle.get("id") != SUPPORTED_BUNDLE_ID:
        raise HostConfigError(f"host.json extensionBundle.id must be {SUPPORTED_BUNDLE_ID!r}")
    version = str(bundle.get("version", ""))
    match = re.fullmatch(r"\[\s*(\d+)\.[^,]*,\s*(\d+)\.[^)\]]*[)\]]", version)
    if not match or int(match.group(1)) != SUPPORTED_BUNDLE_MAJOR:
        raise HostConfigError(
            f"host.json extensionBundle.version {version!r} is not supported; use '[4.*, 5.0.0)'"
        )


def load_host_config(app_dir: Path) -> HostConfig:
    """Read ``app_dir/host.json`` (missing file → defaults)."""
    path = app_dir / "host.json"
    if not path.exists():
        return HostConfig(hub_name=_default_hub())
    data = _read_json_object(path)
    _check_bundle(data.get("extensionBundle"))
    extensions = _section(data, "extensions")
    durable = _section(extensions, "durableTask")
    provider = _section(durable, "storageProvider")
    timeout = data.get("functionTimeout")
    defaults = HostConfig()
    return HostConfig(
        hub_name=_hub_name(durable.get("hubName")),
        max_concurrent_activities=_int_setting(
            durable, "maxConcurrentActivityFunctions", defaults.max_concurrent_activities
        ),
        max_concurrent_orchestrations=_int_setting(
            durable, "maxConcurrentOrchestratorFunctions", defaults.max_concurrent_orchestrations
        ),
        max_queue_polling_interval=str(provider.get("maxQueuePollingInterval", "00:00:30")),
        overridable_existing_states=str(durable.get("overridableExistingInstanceStates", "NonRunningStates")),
        default_version=durable.get("defaultVersion"),
        function_timeout_seconds=parse_timespan(timeout) if timeout and timeout != "-1" else None,
        route_prefix=str(_section(extensions, "http").get("routePrefix", "api")).strip("/"),
    )


def _section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key) or {}
    if not isinstance(value, dict):
        raise HostConfigError(f"host.json '{key}' must be an object")
    return value


def _int_setting(durable: dict[str, Any], key: str, default: int) -> int:
    value = durable.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise HostConfigError(f"host.json extensions.durableTask.{key} must be a whole number, not {value!r}")
    return int(value)


def _hub_name(configured: Any) -> str:
    """``hubName`` after ``%SETTING%`` substitution: 3-45 letters and digits, starting with a letter."""
    if configured is None or configured == "":
        return _default_hub()
    hub = _substitute(str(configured))
    if not TASK_HUB_NAME.fullmatch(hub):
        raise HostConfigError(
            f"host.json extensions.durableTask.hubName {configured!r} gives {hub!r}: a task hub name is "
            "3-45 letters and digits and starts with a letter"
        )
    return hub


def _default_hub() -> str:
    return os.environ.get("WEBSITE_SITE_NAME") or "TestHubName"
