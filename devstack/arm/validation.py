"""Parsing and validating a packet-capture PUT body (`PacketCapture`) into `CaptureParameters`.

Bounds, defaults and required fields are the REST spec's (`PacketCaptureParameters`, networkWatcher.json):
`target` and `storageLocation` are required; `bytesToCapturePerPacket` 0..4294967295 (default 0 = whole
packet), `totalBytesPerSession` 0..4294967295 (default 1073741824), `timeLimitInSeconds` 0..18000 (default
18000). Unknown properties are rejected (strict, like Azurite) rather than silently dropped.

Continuous capture (`continuousCapture: true`, preview): `captureSettings.fileCount` 0..10000 (default 10),
`fileSizeInBytes` 0..4294967295 (default 104857600), `sessionTimeLimitInSeconds` 0..604800 (default 86400);
a 0 means the default (the emulator's reading; Azure documents only the bounds). `filePath` is refused when
`continuousCapture` is given at all; use `storageId` and/or `localPath`. docs/arm-emulator.md has the sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from devstack.arm.exceptions import InvalidParameter, InvalidRequestContent, InvalidRequestFormat
from devstack.capture.bpf import FilterError, filters_to_bpf

UINT32_MAX = 4294967295
DEFAULT_TOTAL_BYTES = 1073741824
DEFAULT_TIME_LIMIT = 18000
MAX_TIME_LIMIT = 18000
SETTINGS_DEFAULTS = {"fileCount": 10, "fileSizeInBytes": 104857600, "sessionTimeLimitInSeconds": 86400}
TARGET_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/"
    r"(virtualMachines|virtualMachineScaleSets)/[^/]+$",
    re.IGNORECASE,
)
PARAMETER_FIELDS = {
    "target",
    "scope",
    "targetType",
    "bytesToCapturePerPacket",
    "totalBytesPerSession",
    "timeLimitInSeconds",
    "storageLocation",
    "filters",
    "continuousCapture",
    "captureSettings",
}
READ_ONLY_FIELDS = {"provisioningState"}
STORAGE_FIELDS = {"storageId", "storagePath", "filePath", "localPath"}
SETTINGS_BOUNDS = {
    "fileCount": (0, 10000),
    "fileSizeInBytes": (0, UINT32_MAX),
    "sessionTimeLimitInSeconds": (0, 604800),
}


@dataclass
class CaptureParameters:
    """A validated `PacketCaptureParameters` with the defaults filled in."""

    target: str
    target_type: str
    bytes_to_capture_per_packet: int = 0
    total_bytes_per_session: int = DEFAULT_TOTAL_BYTES
    time_limit_in_seconds: int = DEFAULT_TIME_LIMIT
    storage_location: dict[str, str] = field(default_factory=dict)
    filters: list[dict[str, str]] = field(default_factory=list)
    scope: dict[str, list[str]] = field(default_factory=lambda: {"include": [], "exclude": []})
    capture_settings: dict[str, int] | None = None
    continuous_capture: bool | None = None
    bpf: str = ""

    @property
    def continuous(self) -> bool:
        """True for a continuous (ring-buffer) capture."""
        return self.continuous_capture is True

    def properties(self) -> dict[str, Any]:
        """The parameters as the response's `properties` (camelCase, defaults echoed)."""
        props: dict[str, Any] = {
            "target": self.target,
            "scope": self.scope,
            "targetType": self.target_type,
            "bytesToCapturePerPacket": self.bytes_to_capture_per_packet,
            "totalBytesPerSession": self.total_bytes_per_session,
            "timeLimitInSeconds": self.time_limit_in_seconds,
            "storageLocation": self.storage_location,
            "filters": self.filters,
        }
        if self.continuous_capture is not None:
            props["continuousCapture"] = self.continuous_capture
        if self.capture_settings is not None:
            props["captureSettings"] = self.capture_settings
        return props


def parse_capture_body(body: Any) -> CaptureParameters:
    """Validate a PUT body; raises the 400 `ApiError` that names the first problem."""
    if not isinstance(body, dict):
        raise InvalidRequestContent("The request content must be a JSON object with a 'properties' object.")
    if not isinstance(body.get("properties"), dict):
        raise InvalidRequestFormat("Cannot parse the request: 'properties' is required.", target="properties")
    props = body["properties"]
    unknown = sorted(set(props) - PARAMETER_FIELDS - READ_ONLY_FIELDS)
    if unknown:
        raise InvalidParameter(
            f"Unknown property 'properties.{unknown[0]}'.", target=f"properties.{unknown[0]}"
        )
    target = _target(props.get("target"))
    kind = "AzureVMSS" if "virtualmachinescalesets" in target.lower() else "AzureVM"
    params = CaptureParameters(
        target=target,
        target_type=_target_type(props.get("targetType"), kind),
        bytes_to_capture_per_packet=_bounded(props, "bytesToCapturePerPacket", 0, 0, UINT32_MAX),
        total_bytes_per_session=_bounded(props, "totalBytesPerSession", DEFAULT_TOTAL_BYTES, 0, UINT32_MAX),
        time_limit_in_seconds=_bounded(props, "timeLimitInSeconds", DEFAULT_TIME_LIMIT, 0, MAX_TIME_LIMIT),
        storage_location=_storage_location(props.get("storageLocation"), props.get("continuousCapture")),
        filters=_filters(props.get("filters")),
        scope=_scope(props.get("scope"), kind),
        capture_settings=_capture_settings(props.get("captureSettings"), props.get("continuousCapture")),
        continuous_capture=props.get("continuousCapture"),
    )
    try:
        params.bpf = filters_to_bpf(params.filters)
    except FilterError as exc:
        raise InvalidParameter(
            f"Invalid packet capture filter: {exc}", target=f"properties.{exc.field}"
        ) from exc
    return params


def _target(value: Any) -> str:
    if value is None:
        raise InvalidRequestFormat(
            "Cannot parse the request: 'properties.target' is required.", "properties.target"
        )
    if not isinstance(value, str) or not TARGET_RE.match(value):
        raise InvalidParameter(
            "properties.target must be the resource id of a virtual machine or a virtual machine scale set, "
            f"got {value!r}.",
            target="properties.target",
        )
    return value


def _target_type(value: Any, kind: str) -> str:
    if value is None:
        return kind
    if not isinstance(value, str) or value.lower() not in ("azurevm", "azurevmss"):
        raise InvalidParameter(
            f"properties.targetType must be AzureVM or AzureVMSS, got {value!r}.",
            target="properties.targetType",
        )
    canonical = "AzureVM" if value.lower() == "azurevm" else "AzureVMSS"
    if canonical != kind:
        raise InvalidParameter(
            f"properties.targetType {canonical} does not match the target resource type ({kind}).",
            target="properties.targetType",
        )
    return canonical


def _bounded(props: dict, key: str, default: int, low: int, high: int) -> int:
    value = props.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestFormat(
            f"Cannot parse the request: 'properties.{key}' must be an integer, got {value!r}.",
            f"properties.{key}",
        )
    if not low <= value <= high:
        raise InvalidParameter(
            f"properties.{key} must be between {low} and {high}, got {value}.", target=f"properties.{key}"
        )
    return value


def _storage_location(value: Any, continuous: Any) -> dict[str, str]:
    where = "properties.storageLocation"
    if value is None:
        raise InvalidRequestFormat(f"Cannot parse the request: '{where}' is required.", where)
    if not isinstance(value, dict):
        raise InvalidRequestFormat(f"Cannot parse the request: '{where}' must be an object.", where)
    unknown = sorted(set(value) - STORAGE_FIELDS)
    if unknown:
        raise InvalidParameter(f"Unknown property '{where}.{unknown[0]}'.", target=f"{where}.{unknown[0]}")
    for key, item in value.items():
        if item is not None and not isinstance(item, str):
            raise InvalidRequestFormat(
                f"Cannot parse the request: '{where}.{key}' must be a string.", f"{where}.{key}"
            )
    location = {k: v for k, v in value.items() if v}
    if continuous is not None and not isinstance(continuous, bool):
        raise InvalidRequestFormat(
            "Cannot parse the request: 'properties.continuousCapture' must be a boolean."
        )
    if continuous is not None and location.get("filePath"):
        raise InvalidParameter(
            "storageLocation.filePath is invalid when continuousCapture is set; use localPath.",
            target=f"{where}.filePath",
        )
    if not (location.get("storageId") or location.get("filePath") or location.get("localPath")):
        raise InvalidParameter(
            "storageLocation needs a storageId (a storage account id) or a filePath.",
            target=f"{where}.storageId",
        )
    if location.get("storageId") and not re.match(
        r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+$",
        location["storageId"],
        re.IGNORECASE,
    ):
        raise InvalidParameter(
            "storageLocation.storageId must be a storage account resource id, "
            f"got {location['storageId']!r}.",
            target=f"{where}.storageId",
        )
    storage = {"storageId": location.get("storageId", ""), "storagePath": location.get("storagePath", "")}
    for key in ("filePath", "localPath"):
        if location.get(key):
            storage[key] = location[key]
    if not storage["storageId"]:
        del storage["storageId"]
    return storage


def _filters(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequestFormat("Cannot parse the request: 'properties.filters' must be an array.")
    result = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidRequestFormat(
                f"Cannot parse the request: 'properties.filters[{i}]' must be an object."
            )
        cleaned = {k: v for k, v in item.items() if v is not None}
        cleaned.setdefault("protocol", "Any")
        result.append(cleaned)
    return result


def _scope(value: Any, kind: str) -> dict[str, list[str]]:
    if value is None:
        return {"include": [], "exclude": []}
    if not isinstance(value, dict) or set(value) - {"include", "exclude"}:
        raise InvalidParameter(
            "properties.scope must be {include: [...], exclude: [...]}.", "properties.scope"
        )
    scope = {}
    for key in ("include", "exclude"):
        items = value.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise InvalidParameter(
                f"properties.scope.{key} must be a list of strings.", f"properties.scope.{key}"
            )
        scope[key] = items
    if kind == "AzureVM" and (scope["include"] or scope["exclude"]):
        raise InvalidParameter("properties.scope only applies to a scale set target.", "properties.scope")
    return scope


def _capture_settings(value: Any, continuous: Any) -> dict[str, int] | None:
    if value is None:
        return dict(SETTINGS_DEFAULTS) if continuous is True else None
    if not isinstance(value, dict) or set(value) - set(SETTINGS_BOUNDS):
        raise InvalidParameter(
            "properties.captureSettings may hold only fileCount, fileSizeInBytes and "
            "sessionTimeLimitInSeconds.",
            "properties.captureSettings",
        )
    settings = {
        key: _bounded({f"captureSettings.{key}": value.get(key)}, f"captureSettings.{key}",
                      SETTINGS_DEFAULTS[key], low, high)
        for key, (low, high) in SETTINGS_BOUNDS.items()
    }
    return {key: number or SETTINGS_DEFAULTS[key] for key, number in settings.items()}
