"""Every supported webhook schema parses to the right targets; ignore and reject cases are explicit."""

from __future__ import annotations

from datetime import UTC, datetime

import product_payloads as p
import pytest

from core.alerts import parse_alert
from core.errors import InvalidRequest
from core.targets import AZURE_VM, AZURE_VMSS, Target, select_targets

ESS = "data.essentials"
FIRED = datetime(2026, 11, 25, 22, 1, 2, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "schema", "rule"),
    [
        (p.common_metric_static(), "azureMonitorCommonAlertSchema", "High TCP segments"),
        (p.common_metric_dynamic(), "azureMonitorCommonAlertSchema", "High TCP segments"),
        (p.common_log_search_v2(), "azureMonitorCommonAlertSchema", "test-logAlertRule-v2"),
        (p.common_activity_log(), "azureMonitorCommonAlertSchema", "VM restarted"),
        (p.metric_non_common(), "AzureMonitorMetricAlert", "tcp"),
        (p.classic(), "classic", "TCP_Segments_Sent_Exceeded"),
        (p.activity_non_common(), "Microsoft.Insights/activityLogs",
         "Microsoft.Compute/virtualMachines/restart/action"),
    ],
    ids=["metric-static", "metric-dynamic", "log-v2", "activity-log", "metric-non-common", "classic",
         "activity-non-common"],
)
def test_each_schema_yields_the_vm_target(body: dict, schema: str, rule: str) -> None:
    alert = parse_alert(body)
    assert alert.firing is True
    assert alert.summary.schema == schema and alert.summary.rule == rule
    targets, ignored = select_targets(alert)
    assert [t.target_type for t in targets] == [AZURE_VM]
    assert targets[0].id.lower() == p.VM_ID_LOWER and ignored == []


def test_fired_time_with_seven_fraction_digits_is_parsed_in_utc() -> None:
    assert parse_alert(p.common_metric_static()).fired_at == FIRED
    activity = parse_alert(p.common_activity_log()).fired_at
    assert activity == datetime(2026, 11, 25, 22, 1, 2, 789602, tzinfo=UTC)


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2026-11-25T23:01:02.1234567+01:00", datetime(2026, 11, 25, 22, 1, 2, 123456, tzinfo=UTC)),
    ("2026-11-25T17:01:02.5-05:00", datetime(2026, 11, 25, 22, 1, 2, 500000, tzinfo=UTC)),
    ("2026-11-25T22:01:02+00:00", datetime(2026, 11, 25, 22, 1, 2, tzinfo=UTC)),
    ("2026-11-25T22:01:02.1234567", datetime(2026, 11, 25, 22, 1, 2, 123456, tzinfo=UTC)),
])
def test_fired_time_offsets_are_honoured(stamp: str, expected: datetime) -> None:
    assert parse_alert(p.common_metric_static(fired=stamp)).fired_at == expected
    body = p.activity_non_common()
    body["data"]["context"]["activityLog"]["eventTimestamp"] = stamp
    assert parse_alert(body).fired_at == expected


def test_dynamic_threshold_keeps_the_metric_dimensions_but_targets_come_from_alert_target_ids() -> None:
    alert = parse_alert(p.common_metric_dynamic())
    assert ("ResourceId", "3efad9dc-3d50-4eac-9c87-8b3fd6f97e4e") in alert.dimensions
    assert select_targets(alert)[0][0].id.lower() == p.VM_ID_LOWER


def test_scale_set_alert_becomes_one_vmss_capture_scoped_to_vmname() -> None:
    alert = parse_alert(p.common_vmss(["pool_3", "pool_1", "pool_3", "pool_10"]))
    (target,), _ = select_targets(alert)
    # a uniform set's instance VM name <set>_<id> becomes the instance id, the form scope.include takes
    assert target.target_type == AZURE_VMSS and target.scope_include == ("1", "3", "10")
    alert = parse_alert(p.common_vmss(["web-flex-a1b2"]))  # a flexible-orchestration name stays a name
    assert select_targets(alert)[0][0].scope_include == ("web-flex-a1b2",)


def test_scale_set_instance_targets_become_one_scoped_capture_of_their_set() -> None:
    instances = [f"{p.VMSS_ID}/virtualMachines/{n}" for n in ("3", "0", "3")]
    other_set = p.VMSS_ID.replace("/pool", "/other") + "/virtualMachines/7"
    alert = parse_alert(p.common_metric_static(targets=[*instances, other_set, p.VM_ID]))
    targets, ignored = select_targets(alert)
    assert ignored == []
    by_id = {t.id.lower(): t for t in targets}
    assert set(by_id) == {p.VMSS_ID, p.VMSS_ID.replace("/pool", "/other"), p.VM_ID_LOWER}
    assert by_id[p.VMSS_ID] == Target(by_id[p.VMSS_ID].id, AZURE_VMSS, ("0", "3"))
    assert by_id[p.VMSS_ID.replace("/pool", "/other")].scope_include == ("7",)
    assert by_id[p.VM_ID_LOWER].target_type == AZURE_VM


def test_a_scale_set_named_whole_and_by_instance_is_captured_whole() -> None:
    alert = parse_alert(p.common_metric_static(targets=[f"{p.VMSS_ID}/virtualMachines/3", p.VMSS_ID]))
    (target,), _ = select_targets(alert)
    assert target.target_type == AZURE_VMSS and target.scope_include == ()


def test_scale_set_instance_outside_the_allow_list_is_ignored() -> None:
    alert = parse_alert(p.common_metric_static(targets=[f"{p.VMSS_ID}/virtualMachines/3"]))
    other = (p.VMSS_ID.split("/")[2], "another-rg")
    targets, ignored = select_targets(alert, allowed_scopes=(other,))
    assert targets == [] and "outside the allowed" in ignored[0].reason


def test_duplicate_targets_are_deduplicated_case_insensitively() -> None:
    alert = parse_alert(p.common_metric_static(targets=[p.VM_ID, p.VM_ID_LOWER, p.VM_ID.upper().replace(
        "SUBSCRIPTIONS", "subscriptions")]))
    targets, _ = select_targets(alert)
    assert len(targets) == 1


def test_several_vms_fan_out_to_several_targets() -> None:
    other = p.VM_ID.replace("web-1", "web-2")
    targets, _ = select_targets(parse_alert(p.common_metric_static(targets=[p.VM_ID, other])))
    assert [t.id.rsplit("/", 1)[-1] for t in targets] == ["web-1", "web-2"]


@pytest.mark.parametrize("body", [
    p.common_metric_static(condition="Resolved"),
    p.metric_non_common(status="Deactivated"),
    p.classic(status="Resolved"),
], ids=["common-resolved", "non-common-deactivated", "classic-resolved"])
def test_resolved_alerts_are_not_firing(body: dict) -> None:
    assert parse_alert(body).firing is False


def test_workspace_scoped_log_alert_has_no_vm_target_and_is_ignored_with_reason() -> None:
    targets, ignored = select_targets(parse_alert(p.common_log_search_v2(targets=[p.WORKSPACE_ID])))
    assert targets == []
    assert "not a VM" in ignored[0].reason


def test_budget_style_null_targets_give_no_targets() -> None:
    body = p.with_essentials(p.common_metric_static(), alertTargetIDs=None, severity=None, alertRule=None)
    alert = parse_alert(body)
    assert alert.target_ids == () and select_targets(alert) == ([], [])


def test_allow_list_ignores_targets_outside_it() -> None:
    alert = parse_alert(p.common_metric_static())
    other_sub = ("11111111-1111-1111-1111-111111111111", None)
    targets, ignored = select_targets(alert, (other_sub,))
    assert targets == [] and "outside the allowed" in ignored[0].reason
    targets, _ = select_targets(alert, ((p.SUB, "app-rg"),))
    assert len(targets) == 1
    targets, ignored = select_targets(alert, ((p.SUB, "other-rg"),))
    assert targets == [] and ignored


@pytest.mark.parametrize(("scope", "kind"), [
    (f"/subscriptions/{p.SUB}", "subscription"),  # service health and its test action
    (f"/subscriptions/{p.SUB}/resourcegroups/test-RG", "resource group"),  # group-scoped activity log alert
    (f"/subscriptions/{p.SUB}/providers/Microsoft.Security/pricings/VirtualMachines", "subscription-level"),
])
def test_well_formed_ids_outside_a_resource_group_are_ignored_not_rejected(scope: str, kind: str) -> None:
    body = p.with_essentials(p.common_activity_log(), alertTargetIDs=[scope, p.VM_ID])
    targets, ignored = select_targets(parse_alert(body))
    assert [t.id for t in targets] == [p.VM_ID]
    (item,) = ignored
    assert item.target == scope and kind in item.reason and "not a VM" in item.reason


@pytest.mark.parametrize("bad_id", [
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/"
    "virtualMachines/../../../../etc/passwd",
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/"
    "virtualMachines/web%2F..",
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/"
    "virtualMachines/w\u0435b-1",  # Cyrillic e: a look-alike
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/"
    "virtualMachines/web-1?api-version=1",
    "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1",
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/"
    "virtualMachines/web 1",
    "https://evil.example/subscriptions/00000000-0000-0000-0000-000000000001",
    "/subscriptions/00000000-0000-0000-0000-000000000001//resourceGroups/rg",
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/r\u0433",  # look-alike group
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/",
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/..",
    "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Security/x/%2e%2e",
    "/subscriptions/00000000-0000-0000-0000-000000000001/",
    "/subscriptions/not-a-guid",
    "",
])
def test_invalid_target_ids_are_rejected_naming_the_field(bad_id: str) -> None:
    alert = parse_alert(p.common_metric_static(targets=[bad_id]))
    with pytest.raises(InvalidRequest) as info:
        select_targets(alert)
    assert info.value.field == "target[0]"


@pytest.mark.parametrize(("body", "field"), [
    ([], "$"),
    ("text", "$"),
    ({"schemaId": "azureMonitorCommonAlertSchema"}, "data"),
    ({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": []}}, "data.essentials"),
    (p.with_essentials(p.common_metric_static(), monitorCondition=None), f"{ESS}.monitorCondition"),
    (p.with_essentials(p.common_metric_static(), monitorCondition="Maybe"), f"{ESS}.monitorCondition"),
    (p.with_essentials(p.common_metric_static(), firedDateTime="yesterday"), "data.essentials.firedDateTime"),
    (p.with_essentials(p.common_metric_static(), firedDateTime=12), "data.essentials.firedDateTime"),
    (p.with_essentials(p.common_metric_static(), firedDateTime="9999-12-31T23:59:59-05:00"),
     "data.essentials.firedDateTime"),  # overflows when converted to UTC
    (p.with_essentials(p.common_metric_static(), firedDateTime="0001-01-01T00:00:01Z"),
     "data.essentials.firedDateTime"),
    (p.with_essentials(p.common_metric_static(), alertTargetIDs="x"), "data.essentials.alertTargetIDs"),
    (p.with_essentials(p.common_metric_static(), alertTargetIDs=[1]), "data.essentials.alertTargetIDs[0]"),
    ({"schemaId": "Microsoft.Insights/LogAlert", "data": {}}, "schemaId"),
    ({"schemaId": 5}, "schemaId"),
    ({"hello": "world"}, "schemaId"),
    ({"schemaId": "AzureMonitorMetricAlert", "data": {"status": "Activated", "context": {
        "timestamp": "2026-11-25T22:00:00Z"}}}, "data.context.resourceId"),
    ({"status": "Activated", "context": "x"}, "context"),
])
def test_malformed_payloads_are_rejected_naming_the_field(body: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_alert(body)
    assert info.value.field == field
    assert info.value.to_dict()["field"] == field


def test_wrong_dimension_shape_is_rejected() -> None:
    body = p.common_metric_static()
    body["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = "VMName"
    with pytest.raises(InvalidRequest) as info:
        parse_alert(body)
    assert info.value.field.endswith("dimensions")


def test_too_many_targets_is_a_client_error() -> None:
    ids = [p.VM_ID.replace("web-1", f"web-{i}") for i in range(25)]
    with pytest.raises(InvalidRequest):
        select_targets(parse_alert(p.common_metric_static(targets=ids)), max_targets=20)
