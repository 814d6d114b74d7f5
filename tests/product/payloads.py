"""Webhook payloads written from the documented structures (Azure Monitor's common alert schema docs)."""

from __future__ import annotations

import copy
from typing import Any

SUB = "00000000-0000-0000-0000-000000000001"
VM_ID = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"
VM_ID_LOWER = VM_ID.lower()
RESTART = "Microsoft.Compute/virtualMachines/restart/action"
VM_GUID = "3efad9dc-3d50-4eac-9c87-8b3fd6f97e4e"
LOWER_RG = f"/subscriptions/{SUB}/resourcegroups"
VMSS_ID = f"{LOWER_RG}/app-rg/providers/microsoft.compute/virtualmachinescalesets/pool"
WORKSPACE_ID = f"{LOWER_RG}/logs/providers/microsoft.operationalinsights/workspaces/ws"
ALERTS = f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts"


def common_metric_static(targets: list[str] | None = None, condition: str = "Fired",
                         fired: str = "2026-11-25T22:01:02.1234567Z") -> dict[str, Any]:
    """[CS] metric alert, static threshold, ``SingleResourceMultipleMetricCriteria``."""
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"{ALERTS}/b9569717-bc32-442f",
                "alertRule": "High TCP segments",
                "severity": "Sev3",
                "signalType": "Metric",
                "monitorCondition": condition,
                "monitoringService": "Platform",
                "alertTargetIDs": [VM_ID_LOWER] if targets is None else targets,
                "configurationItems": ["web-1"],
                "originAlertId": f"{SUB}_app-rg_microsoft.insights_metricAlerts_High TCP segments_-117781227",
                "firedDateTime": fired,
                "description": "",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {
                "properties": None,
                "conditionType": "SingleResourceMultipleMetricCriteria",
                "condition": {
                    "windowSize": "PT5M",
                    "allOf": [{
                        "metricName": "Network Out Total",
                        "metricNamespace": "Microsoft.Compute/virtualMachines",
                        "operator": "GreaterThan", "threshold": "100", "timeAggregation": "Total",
                        "dimensions": [{"name": "ResourceId", "value": VM_GUID}],
                        "metricValue": 250.0, "webTestName": None,
                    }],
                    "windowStartTime": "2026-11-25T21:56:02.123Z",
                    "windowEndTime": "2026-11-25T22:01:02.123Z",
                },
            },
            "customProperties": None,
        },
    }


def common_metric_dynamic() -> dict[str, Any]:
    """[CS] dynamic threshold: calculated threshold, sensitivity and failing periods."""
    body = common_metric_static()
    ctx = body["data"]["alertContext"]
    ctx["conditionType"] = "DynamicThresholdCriteria"
    ctx["condition"]["allOf"][0].update({
        "alertSensitivity": "High", "operator": "GreaterOrLessThan", "threshold": "12.5",
        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
        "ignoreDataBefore": None})
    return body


def common_vmss(vm_names: list[str]) -> dict[str, Any]:
    """Metric alert on a scale set split by the ``VMName`` dimension [VMSSM]."""
    body = common_metric_static(targets=[VMSS_ID])
    body["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = [
        {"name": "VMName", "value": n} for n in vm_names]
    return body


def common_log_search_v2(targets: list[str] | None = None) -> dict[str, Any]:
    """[CS][LW] Log Alerts V2, VM-scoped rule: lower-case target, dimensions, links, no search results."""
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/12345678-1234",
                "alertRule": "test-logAlertRule-v2",
                "targetResourceType": "microsoft.compute/virtualmachines",
                "alertRuleID": f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/microsoft.insights/"
                               "scheduledqueryrules/test-logAlertRule-v2",
                "severity": "Sev3",
                "signalType": "Log",
                "monitorCondition": "Fired",
                "targetResourceGroup": "app-rg",
                "monitoringService": "Log Alerts V2",
                "alertTargetIDs": [VM_ID_LOWER] if targets is None else targets,
                "firedDateTime": "2026-11-25T22:01:02.1234567Z",
                "description": "Alert rule description",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {
                "properties": {"customKey1": "value1"},
                "conditionType": "LogQueryCriteria",
                "condition": {
                    "windowSize": "PT10M",
                    "allOf": [{
                        "searchQuery": "Heartbeat",
                        "metricMeasureColumn": None,
                        "targetResourceTypes": "['Microsoft.Compute/virtualMachines']",
                        "operator": "LowerThan", "threshold": "1", "timeAggregation": "Count",
                        "dimensions": [{"name": "ResourceId", "value": VM_ID}],
                        "metricValue": 0.0,
                        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                        "linkToSearchResultsUI": "https://portal.azure.com#@/blade/...",
                        "linkToFilteredSearchResultsUI": "https://portal.azure.com#@/blade/...",
                        "linkToSearchResultsAPI": "https://api.loganalytics.io/v1/workspaces/...",
                        "linkToFilteredSearchResultsAPI": "https://api.loganalytics.io/v1/workspaces/...",
                    }],
                    "windowStartTime": "2026-11-25T21:51:02Z",
                    "windowEndTime": "2026-11-25T22:01:02Z",
                },
            },
            "customProperties": None,
        },
    }


def common_activity_log() -> dict[str, Any]:
    """[CS][PS] activity log alert: always Fired, lower-cased VM id, +00:00 timestamps, odd keys."""
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/1234abcd5678",
                "alertRule": "VM restarted",
                "severity": "Sev4",
                "signalType": "Activity Log",
                "monitorCondition": "Fired",
                "monitoringService": "Activity Log - Administrative",
                "alertTargetIDs": [VM_ID_LOWER],
                "configurationItems": ["web-1"],
                "originAlertId": "bdcd2ae0-4c28-4a25-85ab-8d8ff5f2f6f7_123456789012",
                "firedDateTime": "2026-11-25T22:01:02.7896021+00:00",
                "description": "",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {
                "authorization": {"action": RESTART, "scope": VM_ID},
                "channels": "Operation",
                "claims": "{\"name\":\"someone\"}",
                "caller": "user@contoso.com",
                "correlationId": "aaaa0000-bb11-2222-33cc-444444dddddd",
                "eventSource": "Administrative",
                "eventTimestamp": "2026-11-25T22:00:58.5812366+00:00",
                "eventDataId": "0f7c2cf5-0fd0-43c2-a7aa-a3c2e9f9bc2f",
                "level": "Informational",
                "operationName": "Microsoft.Compute/virtualMachines/restart/action",
                "operationId": "8a71cbd4-8f9c-4a6d-b5ef-aaaaaaaaaaaa",
                "properties": {"statusCode": "OK", "serviceRequestId": "{\"a\":1}"},
                "status": "Succeeded",
                "subStatus": "",
                "submissionTimestamp": "2026-11-25T22:01:01.2017866+00:00",
                "Activity Log Event Description": "",
            },
            "customProperties": {},
        },
    }


def metric_non_common(status: str = "Activated") -> dict[str, Any]:
    """[NC][NRT] ``AzureMonitorMetricAlert``: mixed-case resourceId, severity as a digit string."""
    return {
        "schemaId": "AzureMonitorMetricAlert",
        "data": {
            "version": "2.0",
            "properties": None,
            "status": status,
            "context": {
                "timestamp": "2026-11-25T22:01:02.1234567Z",
                "id": f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/microsoft.insights/"
                      "metricAlerts/tcp",
                "name": "tcp",
                "description": "TCP segments",
                "conditionType": "SingleResourceMultipleMetricCriteria",
                "severity": "3",
                "condition": {"windowSize": "PT5M", "allOf": [{
                    "metricName": "Network Out Total", "metricNamespace": "microsoft.compute/virtualmachines",
                    "operator": "GreaterThan", "threshold": "100", "timeAggregation": "PT5M",
                    "dimensions": [{"name": "ResourceId", "value": "3efad9dc"}], "metricValue": 250.0}]},
                "subscriptionId": SUB,
                "resourceGroupName": "app-rg",
                "resourceName": "web-1",
                "resourceType": "Microsoft.Compute/virtualMachines",
                "resourceId": VM_ID,
                "portalLink": "https://portal.azure.com/#resource/...",
            },
        },
    }


def classic(status: str = "Activated") -> dict[str, Any]:
    """[CL][NWold] classic metric alert webhook: no schemaId, strings for numbers, a region."""
    return {
        "status": status,
        "context": {
            "timestamp": "2026-11-25T22:01:02.9975398Z",
            "id": f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/microsoft.insights/alertrules/TCP",
            "name": "TCP_Segments_Sent_Exceeded",
            "description": "TCP segments sent",
            "conditionType": "Metric",
            "condition": {"metricName": "TCP segments sent", "metricUnit": "Count", "metricValue": "150",
                          "threshold": "100", "windowSize": "5", "timeAggregation": "Average",
                          "operator": "GreaterThan"},
            "subscriptionId": SUB,
            "resourceGroupName": "app-rg",
            "resourceName": "web-1",
            "resourceType": "Microsoft.Compute/virtualMachines",
            "resourceId": VM_ID,
            "resourceRegion": "westeurope",
            "portalLink": "https://portal.azure.com/#resource/...",
        },
        "properties": {"key1": "value1"},
    }


def activity_non_common() -> dict[str, Any]:
    """[NC][AL] ``Microsoft.Insights/activityLogs`` with an upper-case resourceType."""
    return {
        "schemaId": "Microsoft.Insights/activityLogs",
        "data": {"status": "Activated", "context": {"activityLog": {
            "channels": "Operation", "correlationId": "c0ffee", "eventSource": "Administrative",
            "eventTimestamp": "2026-11-25T22:00:58.5812366+00:00", "eventDataId": "evt-1",
            "level": "Informational",
            "operationName": "Microsoft.Compute/virtualMachines/restart/action", "resourceId": VM_ID,
            "resourceType": "MICROSOFT.COMPUTE/VIRTUALMACHINES", "status": "Succeeded", "description": ""}},
            "properties": {}},
    }


def with_essentials(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a common-schema body with essentials fields replaced."""
    copied = copy.deepcopy(body)
    copied["data"]["essentials"].update(changes)
    return copied
