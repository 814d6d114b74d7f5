"""Azure Monitor common alert schema payloads for a static-threshold metric alert on one VM.

The shape follows the documented common schema (`azureMonitorCommonAlertSchema`, essentials + alertContext
for monitoringService "Platform"), including its type quirks: `threshold` is a string, `metricValue` a
number, timestamps carry 7 fractional digits, `alertTargetIDs` is lower-cased, and the VM's `ResourceId`
dimension is its vmId GUID, not an ARM id.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack.config import AlertRuleConfig
from devstack.monitor.metrics import metric_definition
from devstack.monitor.targets import MetricTarget

SCHEMA_ID = "azureMonitorCommonAlertSchema"
CONDITION_TYPE = "SingleResourceMultipleMetricCriteria"


@dataclass(frozen=True)
class AlertNotice:
    """Everything one Fired or Resolved notification says."""

    rule: AlertRuleConfig
    target: MetricTarget
    condition: str  # "Fired" | "Resolved"
    alert_guid: str
    fired_at: float
    resolved_at: float | None
    metric_value: float
    window_start: float
    window_end: float


def azure_datetime(epoch: float) -> str:
    """`2019-03-22T13:58:24.3713213Z`: UTC with 7 fractional digits, as Azure Monitor writes it."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def window_datetime(epoch: float) -> str:
    """Window bounds as in the samples (`2021-12-15T01:04:11.719Z`)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_duration(seconds: int) -> str:
    """An ISO 8601 duration such as `PT5M`, `PT1H`, `PT90S` (Azure's windowSize form)."""
    if seconds <= 0:
        raise ValueError("duration must be > 0")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}H" if hours else "", f"{minutes}M" if minutes else "", f"{secs}S" if secs else ""]
    return "PT" + "".join(parts)


def alert_rule_id(rule: AlertRuleConfig, target: MetricTarget) -> str:
    """The rule's ARM id (rules live in the target's resource group, as portal-created rules do)."""
    return (f"/subscriptions/{target.subscription_id}/resourceGroups/{target.resource_group}"
            f"/providers/microsoft.insights/metricAlerts/{rule.name}")


def origin_alert_id(rule: AlertRuleConfig, target: MetricTarget, alert_guid: str) -> str:
    """`<sub>_<RG>_microsoft.insights_metricAlerts_<rule>_<signed 32-bit hash>`, the documented form."""
    digest = zlib.crc32(f"{alert_guid}|{target.alert_target_id}".encode())
    signed = digest - (1 << 32) if digest >= (1 << 31) else digest
    scope = f"{target.subscription_id}_{target.resource_group}"
    return f"{scope}_microsoft.insights_metricAlerts_{rule.name}_{signed}"


def format_threshold(threshold: float) -> str:
    """Azure sends the threshold as a string: `"100"`, `"2.5"`."""
    return str(int(threshold)) if float(threshold).is_integer() else repr(threshold)


def format_value(value: float) -> int | float:
    """metricValue is a JSON number; whole values stay integers."""
    return int(value) if float(value).is_integer() else value


def build_payload(notice: AlertNotice) -> dict[str, Any]:
    """The common-schema JSON body for one notification."""
    rule, target = notice.rule, notice.target
    metric = metric_definition(rule.metric)
    essentials: dict[str, Any] = {
        "alertId": f"/subscriptions/{target.subscription_id}/providers/Microsoft.AlertsManagement/alerts/"
                   f"{notice.alert_guid}",
        "alertRule": rule.name,
        "alertRuleID": alert_rule_id(rule, target),
        "severity": f"Sev{rule.severity}",
        "signalType": "Metric",
        "monitorCondition": notice.condition,
        "monitoringService": "Platform",
        "alertTargetIDs": [target.alert_target_id],
        "configurationItems": [target.name],
        "originAlertId": origin_alert_id(rule, target, notice.alert_guid),
        "firedDateTime": azure_datetime(notice.fired_at),
        "description": rule.description,
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
    }
    if notice.resolved_at is not None:
        essentials["resolvedDateTime"] = azure_datetime(notice.resolved_at)
    criterion = {
        "metricName": metric.azure_name,
        "metricNamespace": metric.namespace,
        "operator": rule.operator,
        "threshold": format_threshold(rule.threshold),
        "timeAggregation": metric.time_aggregation,
        "dimensions": [{"name": "ResourceId", "value": target.vm_id}],
        "metricValue": format_value(notice.metric_value),
        "webTestName": None,
    }
    alert_context = {
        "properties": None,
        "conditionType": CONDITION_TYPE,
        "condition": {
            "windowSize": iso_duration(rule.window_seconds),
            "allOf": [criterion],
            "windowStartTime": window_datetime(notice.window_start),
            "windowEndTime": window_datetime(notice.window_end),
        },
    }
    return {
        "schemaId": SCHEMA_ID,
        "data": {"essentials": essentials, "alertContext": alert_context, "customProperties": None},
    }
