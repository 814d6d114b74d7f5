"""Valid Azure Monitor webhook payloads, one per schema the app accepts.

Shapes as Microsoft documents them: https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema
and https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-webhooks (classic metric alerts).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alertcap_cli.errors import UsageError
from alertcap_cli.models import ARM_TARGET

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_METRIC_SCHEMA = "AzureMonitorMetricAlert"


@dataclass(frozen=True)
class SampleSpec:
    """What the sample describes: the target, whether it fires or resolves, and when."""

    vm_id: str
    fired: datetime
    resolved: bool = False
    rule: str = "alertcap-sample"
    region: str = "westeurope"

    @property
    def subscription(self) -> str:
        """The subscription id segment of the target."""
        return self.vm_id.split("/")[2]

    @property
    def resource_group(self) -> str:
        """The resource group segment of the target."""
        return self.vm_id.split("/")[4]

    @property
    def name(self) -> str:
        """The VM (or scale set) name."""
        return self.vm_id.rsplit("/", 1)[-1]

    @property
    def resource_type(self) -> str:
        """`Microsoft.Compute/virtualMachines` or `.../virtualMachineScaleSets`."""
        kind = self.vm_id.split("/")[7].lower()
        return "Microsoft.Compute/virtualMachineScaleSets" if "scaleset" in kind else \
            "Microsoft.Compute/virtualMachines"

    def stamp(self, moment: datetime | None = None, digits: int = 7, offset: bool = False) -> str:
        """A timestamp with Azure's 7 fractional digits, `Z` or `+00:00`."""
        moment = (moment or self.fired).astimezone(UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0" * (digits - 6)
        return text + ("+00:00" if offset else "Z")

    def alert_guid(self) -> str:
        """A stable alert id for this target and time (Fired and Resolved share it, as in Azure)."""
        seed = f"{self.vm_id.lower()}|{self.rule}|{self.fired.isoformat()}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def validate_vm_id(vm_id: str) -> str:
    """Check that `vm_id` is a VM or VM scale-set ARM id (UsageError otherwise)."""
    value = vm_id.strip()
    if not ARM_TARGET.match(value):
        raise UsageError(
            f"--vm: {vm_id!r} is not a VM or VM scale set resource id",
            "use /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>",
        )
    return value


def _metric_criterion(spec: SampleSpec, dynamic: bool) -> dict[str, Any]:
    criterion: dict[str, Any] = {
        "metricName": "Network Out Total",
        "metricNamespace": spec.resource_type,
        "operator": "GreaterThan",
        "threshold": "100000",
        "timeAggregation": "Total",
        "dimensions": [{"name": "ResourceId", "value": spec.alert_guid()}],
        "metricValue": 250000.0,
        "webTestName": None,
    }
    if dynamic:
        criterion.update(
            operator="GreaterOrLessThan",
            threshold="118000.5",
            alertSensitivity="Medium",
            failingPeriods={"numberOfEvaluationPeriods": 4, "minFailingPeriodsToAlert": 3},
            ignoreDataBefore=None,
        )
    return criterion


def _essentials(spec: SampleSpec, signal: str, service: str, condition: str | None = None) -> dict[str, Any]:
    essentials: dict[str, Any] = {
        "alertId": f"/subscriptions/{spec.subscription}/providers/Microsoft.AlertsManagement/alerts/"
                   f"{spec.alert_guid()}",
        "alertRule": spec.rule,
        "severity": "Sev3",
        "signalType": signal,
        "monitorCondition": condition or ("Resolved" if spec.resolved else "Fired"),
        "monitoringService": service,
        "alertTargetIDs": [spec.vm_id.lower()],
        "configurationItems": [spec.name],
        "originAlertId": f"{spec.subscription}_{spec.resource_group}_microsoft.insights_metricAlerts_"
                         f"{spec.rule}_-117781227",
        "firedDateTime": spec.stamp(),
        "description": "Packet capture sample raised by `alertcap alert sample`",
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
    }
    if essentials["monitorCondition"] == "Resolved":
        essentials["resolvedDateTime"] = spec.stamp(spec.fired + timedelta(minutes=5))
    return essentials


def _window(spec: SampleSpec) -> dict[str, str]:
    return {"windowStartTime": spec.stamp(spec.fired - timedelta(minutes=5)), "windowEndTime": spec.stamp()}


def common_metric(spec: SampleSpec, dynamic: bool = False) -> dict[str, Any]:
    """Common schema, metric alert (static or dynamic threshold)."""
    return {
        "schemaId": COMMON_SCHEMA,
        "data": {
            "essentials": _essentials(spec, "Metric", "Platform"),
            "alertContext": {
                "properties": None,
                "conditionType": "DynamicThresholdCriteria" if dynamic
                else "SingleResourceMultipleMetricCriteria",
                "condition": {"windowSize": "PT5M", "allOf": [_metric_criterion(spec, dynamic)],
                              **_window(spec)},
            },
            "customProperties": None,
        },
    }


def common_log(spec: SampleSpec) -> dict[str, Any]:
    """Common schema, log search alert (Log Alerts V2)."""
    query = (f"AzureNetworkAnalytics_CL | where VM_s =~ '{spec.name}' "
             "| summarize count() by bin(TimeGenerated, 5m)")
    return {
        "schemaId": COMMON_SCHEMA,
        "data": {
            "essentials": _essentials(spec, "Log", "Log Alerts V2"),
            "alertContext": {
                "properties": {},
                "conditionType": "LogQueryCriteria",
                "condition": {
                    "windowSize": "PT10M",
                    "allOf": [{
                        "searchQuery": query,
                        "metricMeasureColumn": None,
                        "targetResourceTypes": f"['{spec.resource_type}']",
                        "operator": "GreaterThan",
                        "threshold": "0",
                        "timeAggregation": "Count",
                        "dimensions": [{"name": "ResourceId", "value": spec.vm_id}],
                        "metricValue": 12.0,
                        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                        "linkToSearchResultsUI": "https://portal.azure.com#@tenant/blade/Microsoft_Azure_Monitoring_Logs",
                        "linkToFilteredSearchResultsUI": None,
                        "linkToSearchResultsAPI": None,
                        "linkToFilteredSearchResultsAPI": None,
                    }],
                    **_window(spec),
                },
            },
            "customProperties": {},
        },
    }


def common_activity(spec: SampleSpec) -> dict[str, Any]:
    """Common schema, activity log alert (stateless: always Fired)."""
    correlation = str(uuid.uuid5(uuid.NAMESPACE_OID, spec.alert_guid()))
    operation = f"{spec.resource_type}/restart/action"
    return {
        "schemaId": COMMON_SCHEMA,
        "data": {
            "essentials": _essentials(spec, "Activity Log", "Activity Log - Administrative", "Fired"),
            "alertContext": {
                "authorization": {"action": operation, "scope": spec.vm_id},
                "channels": "Operation",
                "claims": "{\"name\":\"operator@contoso.example\"}",
                "caller": "operator@contoso.example",
                "correlationId": correlation,
                "eventSource": "Administrative",
                "eventTimestamp": spec.stamp(offset=True),
                "eventDataId": str(uuid.uuid5(uuid.NAMESPACE_DNS, correlation)),
                "level": "Informational",
                "operationName": operation,
                "operationId": correlation,
                "properties": {"statusCode": "OK", "serviceRequestId": None},
                "status": "Succeeded",
                "subStatus": "",
                "submissionTimestamp": spec.stamp(spec.fired + timedelta(seconds=20), offset=True),
                "Activity Log Event Description": "",
            },
            "customProperties": {},
        },
    }


def _legacy_context(spec: SampleSpec, rule_id: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "timestamp": spec.stamp(),
        "id": rule_id,
        "name": spec.rule,
        "description": "Packet capture sample raised by `alertcap alert sample`",
        "condition": condition,
        "subscriptionId": spec.subscription,
        "resourceGroupName": spec.resource_group,
        "resourceName": spec.name,
        "resourceType": spec.resource_type,
        "resourceId": spec.vm_id,
        "portalLink": f"https://portal.azure.com/#resource{spec.vm_id}",
    }


def legacy_metric(spec: SampleSpec) -> dict[str, Any]:
    """The non-common `AzureMonitorMetricAlert` schema (status Activated / Deactivated)."""
    rule_id = (f"/subscriptions/{spec.subscription}/resourceGroups/{spec.resource_group}"
               f"/providers/Microsoft.Insights/metricAlerts/{spec.rule}")
    context = _legacy_context(spec, rule_id, {"windowSize": "PT5M",
                                              "allOf": [_metric_criterion(spec, dynamic=False)]})
    context.update(conditionType="SingleResourceMultipleMetricCriteria", severity="3")
    return {
        "schemaId": LEGACY_METRIC_SCHEMA,
        "data": {"version": "2.0", "properties": None,
                 "status": "Deactivated" if spec.resolved else "Activated", "context": context},
    }


def classic_metric(spec: SampleSpec) -> dict[str, Any]:
    """The classic metric alert webhook of the original Network Watcher tutorial (no schemaId)."""
    rule_id = (f"/subscriptions/{spec.subscription}/resourceGroups/{spec.resource_group}"
               f"/providers/microsoft.insights/alertrules/{spec.rule}")
    context = _legacy_context(spec, rule_id, {
        "metricName": "TCP segments sent",
        "metricUnit": "Count",
        "metricValue": "250",
        "threshold": "100",
        "windowSize": "5",
        "timeAggregation": "Total",
        "operator": "GreaterThan",
    })
    context.update(conditionType="Metric", resourceRegion=spec.region)
    return {"status": "Resolved" if spec.resolved else "Activated", "context": context, "properties": {}}


SAMPLES: dict[str, Callable[[SampleSpec], dict[str, Any]]] = {
    "metric": common_metric,
    "metric-dynamic": lambda spec: common_metric(spec, dynamic=True),
    "log": common_log,
    "activity": common_activity,
    "metric-legacy": legacy_metric,
    "classic": classic_metric,
}


def build_sample(kind: str, spec: SampleSpec) -> dict[str, Any]:
    """The payload of `kind` (see SAMPLES) for `spec`; UsageError for an unknown kind."""
    try:
        return SAMPLES[kind](spec)
    except KeyError:
        raise UsageError(f"unknown sample kind {kind!r}", f"choose one of: {', '.join(SAMPLES)}") from None
