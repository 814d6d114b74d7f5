"""Read and check an alert payload before it is sent, so mistakes are named locally (exit 2)."""

from __future__ import annotations

import json
from typing import Any

from alertcap_cli.errors import UsageError
from alertcap_cli.samples import COMMON_SCHEMA, LEGACY_METRIC_SCHEMA

ACTIVITY_LOG_SCHEMA = "Microsoft.Insights/activityLogs"
MAX_PAYLOAD_BYTES = 256 * 1024
SAMPLE_HINT = "see a valid one with `alertcap alert sample metric --vm <VM id>`"


def parse_payload(raw: bytes, source: str) -> Any:
    """Decode `raw` as a JSON object; UsageError naming the file and the problem otherwise."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise UsageError(f"{source}: {len(raw)} bytes is over the 256 KB Azure Monitor cap", SAMPLE_HINT)
    if not raw.strip():
        raise UsageError(f"{source}: the payload is empty", SAMPLE_HINT)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 text (byte {exc.start})", SAMPLE_HINT) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                         SAMPLE_HINT) from None
    except RecursionError:
        raise UsageError(f"{source}: the JSON is nested too deeply", SAMPLE_HINT) from None
    if not isinstance(payload, dict):
        raise UsageError(f"{source}: the payload must be a JSON object, not {_kind(payload)}", SAMPLE_HINT)
    return payload


def check_payload(payload: dict[str, Any], source: str) -> str:
    """Check the structure the webhook relies on; return the schema name, or UsageError naming the field."""
    schema = payload.get("schemaId")
    if schema == COMMON_SCHEMA:
        essentials = _need(payload, "data.essentials", dict, source)
        _need(payload, "data.essentials.monitorCondition", str, source)
        targets = _need(payload, "data.essentials.alertTargetIDs", list, source)
        if not all(isinstance(t, str) for t in targets):
            raise UsageError(f"{source}: data.essentials.alertTargetIDs must hold strings", SAMPLE_HINT)
        _need(payload, "data.essentials.firedDateTime", str, source)
        return f"common ({essentials.get('signalType') or 'unknown signal'})"
    if schema == LEGACY_METRIC_SCHEMA:
        _need(payload, "data.status", str, source)
        _need(payload, "data.context.resourceId", str, source)
        return LEGACY_METRIC_SCHEMA
    if schema == ACTIVITY_LOG_SCHEMA:
        _need(payload, "data.status", str, source)
        _need(payload, "data.context.activityLog.resourceId", str, source)
        return ACTIVITY_LOG_SCHEMA
    if schema is None and "context" in payload:
        _need(payload, "status", str, source)
        _need(payload, "context.resourceId", str, source)
        return "classic"
    if schema is None:
        raise UsageError(f"{source}: no schemaId and no classic `context`: not an Azure Monitor alert",
                         SAMPLE_HINT)
    raise UsageError(f"{source}: unsupported schemaId {schema!r}",
                     f"the app accepts {COMMON_SCHEMA}, {LEGACY_METRIC_SCHEMA}, {ACTIVITY_LOG_SCHEMA} "
                     "and the classic webhook")


def _need(payload: dict[str, Any], path: str, kind: type, source: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            raise UsageError(f"{source}: {path} is missing", SAMPLE_HINT)
    if not isinstance(value, kind):
        raise UsageError(f"{source}: {path} must be {_kind_name(kind)}, not {_kind(value)}", SAMPLE_HINT)
    return value


def _kind_name(kind: type) -> str:
    return {dict: "an object", list: "an array", str: "a string"}.get(kind, kind.__name__)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)
