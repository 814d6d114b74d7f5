"""Parse Azure Monitor webhook payloads of every supported schema into one :class:`ParsedAlert`.

Supported: the common alert schema (metric static/dynamic, log search, activity log), the non-common
``AzureMonitorMetricAlert`` and ``Microsoft.Insights/activityLogs`` schemas, and the classic metric
alert webhook.
Facts: https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema and
https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-webhooks (classic).
Wrong shapes raise :class:`InvalidRequest` naming the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from core.errors import InvalidRequest

COMMON = "azureMonitorCommonAlertSchema"
METRIC_NON_COMMON = "AzureMonitorMetricAlert"
ACTIVITY_NON_COMMON = "Microsoft.Insights/activityLogs"
CLASSIC = "classic"
FIRING = {"fired", "activated"}
NOT_FIRING = {"resolved", "deactivated"}
MAX_TARGET_IDS = 500
MIN_YEAR, MAX_YEAR = 2000, 2999


@dataclass(frozen=True)
class AlertSummary:
    """What the run and the email say about the alert (strings are untrusted: escape before rendering)."""

    schema: str
    alert_id: str
    rule: str
    severity: str
    condition: str
    fired_at: str
    signal_type: str
    description: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AlertSummary:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: str(data.get(k, "")) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ParsedAlert:
    """A parsed alert: its summary, whether it is firing, its raw target ids and its dimensions."""

    summary: AlertSummary
    firing: bool
    fired_at: datetime
    target_ids: tuple[str, ...]
    dimensions: tuple[tuple[str, str], ...]


def parse_alert(body: object) -> ParsedAlert:
    """Parse a decoded JSON webhook body; raise :class:`InvalidRequest` for malformed or unknown payloads."""
    if not isinstance(body, dict):
        raise InvalidRequest("$", "the body must be a JSON object")
    schema = body.get("schemaId")
    if schema == COMMON:
        return _parse_common(body)
    if schema == METRIC_NON_COMMON:
        return _parse_metric_non_common(body)
    if schema == ACTIVITY_NON_COMMON:
        return _parse_activity_non_common(body)
    if schema is None and "context" in body and "status" in body:
        return _parse_classic(body)
    if schema is None:
        raise InvalidRequest("schemaId", "missing, and the body is not a classic alert webhook")
    if not isinstance(schema, str):
        raise InvalidRequest("schemaId", "must be a string")
    raise InvalidRequest("schemaId", f"unsupported schema {schema[:80]!r}")


# --- typed field access -------------------------------------------------------------------------------------

def _obj(parent: dict, key: str, path: str) -> dict:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}.{key}" if path else key, "must be a JSON object")
    return value


def _str(parent: dict, key: str, path: str, required: bool = True) -> str:
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidRequest(f"{path}.{key}" if path else key, "must be a non-empty string")
    return value


def _text(value: object) -> str:
    """A display string for loosely typed fields (severity may be a digit string, a number or null)."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:500]


def _time(value: object, field: str) -> datetime:
    """An ISO-8601 timestamp in UTC; .NET's 7 fractional digits and ``Z`` are accepted (Python >= 3.11)."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(field, "must be an ISO-8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.strip())
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(field, f"is not an ISO-8601 timestamp: {value[:40]!r}") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:  # run and capture names encode the (4-digit) window start
        raise InvalidRequest(field, f"is not a plausible alert time: {value[:40]!r}")
    return parsed


def _condition(value: object, field: str) -> bool:
    if not isinstance(value, str):
        raise InvalidRequest(field, "must be a string")
    if value.lower() in FIRING:
        return True
    if value.lower() in NOT_FIRING:
        return False
    raise InvalidRequest(field, f"unknown condition {value[:40]!r}")


def _dimensions(condition: object, path: str) -> tuple[tuple[str, str], ...]:
    """``condition.allOf[*].dimensions[*]`` as (name, value) pairs; absent parts give nothing."""
    if not isinstance(condition, dict):
        return ()
    all_of = condition.get("allOf")
    if all_of is None:
        return ()
    if not isinstance(all_of, list):
        raise InvalidRequest(f"{path}.allOf", "must be a list")
    pairs: list[tuple[str, str]] = []
    for i, criterion in enumerate(all_of):
        if not isinstance(criterion, dict):
            raise InvalidRequest(f"{path}.allOf[{i}]", "must be an object")
        dims = criterion.get("dimensions") or []
        if not isinstance(dims, list):
            raise InvalidRequest(f"{path}.allOf[{i}].dimensions", "must be a list")
        for j, dim in enumerate(dims):
            if not isinstance(dim, dict) or not isinstance(dim.get("name"), str):
                raise InvalidRequest(f"{path}.allOf[{i}].dimensions[{j}]", "must be {name, value}")
            pairs.append((dim["name"], _text(dim.get("value"))))
    return tuple(pairs)


def _target_list(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidRequest(field, "must be a list of resource id strings")
    if len(value) > MAX_TARGET_IDS:
        raise InvalidRequest(field, f"has more than {MAX_TARGET_IDS} entries")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidRequest(f"{field}[{i}]", "must be a string")
    return tuple(value)


# --- schemas ----------------------------------------------------------------------------------------------

def _parse_common(body: dict) -> ParsedAlert:
    data = _obj(body, "data", "")
    ess = _obj(data, "essentials", "data")
    firing = _condition(ess.get("monitorCondition"), "data.essentials.monitorCondition")
    fired_at = _time(ess.get("firedDateTime"), "data.essentials.firedDateTime")
    targets = _target_list(ess.get("alertTargetIDs"), "data.essentials.alertTargetIDs")
    context = data.get("alertContext")
    if context is not None and not isinstance(context, dict):
        raise InvalidRequest("data.alertContext", "must be an object or null")
    dims = _dimensions((context or {}).get("condition"), "data.alertContext.condition")
    summary = AlertSummary(
        schema=COMMON,
        alert_id=_text(ess.get("alertId")),
        rule=_text(ess.get("alertRule")),
        severity=_text(ess.get("severity")),
        condition=_text(ess.get("monitorCondition")),
        fired_at=fired_at.isoformat(),
        signal_type=_text(ess.get("signalType")),
        description=_text(ess.get("description")),
    )
    return ParsedAlert(summary, firing, fired_at, targets, dims)


def _parse_metric_non_common(body: dict) -> ParsedAlert:
    data = _obj(body, "data", "")
    firing = _condition(data.get("status"), "data.status")
    ctx = _obj(data, "context", "data")
    fired_at = _time(ctx.get("timestamp"), "data.context.timestamp")
    resource_id = _str(ctx, "resourceId", "data.context")
    dims = _dimensions(ctx.get("condition"), "data.context.condition")
    summary = AlertSummary(
        schema=METRIC_NON_COMMON,
        alert_id=_text(ctx.get("id")),
        rule=_text(ctx.get("name")),
        severity=_text(ctx.get("severity")),
        condition=_text(data.get("status")),
        fired_at=fired_at.isoformat(),
        signal_type="Metric",
        description=_text(ctx.get("description")),
    )
    return ParsedAlert(summary, firing, fired_at, (resource_id,), dims)


def _parse_activity_non_common(body: dict) -> ParsedAlert:
    data = _obj(body, "data", "")
    firing = _condition(data.get("status"), "data.status")
    ctx = _obj(data, "context", "data")
    log = _obj(ctx, "activityLog", "data.context")
    fired_at = _time(log.get("eventTimestamp"), "data.context.activityLog.eventTimestamp")
    resource_id = _str(log, "resourceId", "data.context.activityLog")
    summary = AlertSummary(
        schema=ACTIVITY_NON_COMMON,
        alert_id=_text(log.get("eventDataId") or log.get("correlationId")),
        rule=_text(log.get("operationName")),
        severity=_text(log.get("level")),
        condition=_text(data.get("status")),
        fired_at=fired_at.isoformat(),
        signal_type="Activity Log",
        description=_text(log.get("description")),
    )
    return ParsedAlert(summary, firing, fired_at, (resource_id,), ())


def _parse_classic(body: dict) -> ParsedAlert:
    firing = _condition(body.get("status"), "status")
    ctx = _obj(body, "context", "")
    fired_at = _time(ctx.get("timestamp"), "context.timestamp")
    resource_id = _str(ctx, "resourceId", "context")
    condition = ctx.get("condition")
    metric = _text(condition.get("metricName")) if isinstance(condition, dict) else ""
    summary = AlertSummary(
        schema=CLASSIC,
        alert_id=_text(ctx.get("id")),
        rule=_text(ctx.get("name")),
        severity="",
        condition=_text(body.get("status")),
        fired_at=fired_at.isoformat(),
        signal_type=f"Metric {metric}".strip(),
        description=_text(ctx.get("description")),
    )
    return ParsedAlert(summary, firing, fired_at, (resource_id,), ())
