"""`alert sample` payloads: valid for each schema, and accepted by the product's own parser."""

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from alertcap_cli.main import app
from alertcap_cli.payload import check_payload
from alertcap_cli.samples import SAMPLES, SampleSpec, build_sample
from core import alerts

VM = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-Web/providers/"
      "Microsoft.Compute/virtualMachines/web-1")
FIRED = datetime(2026, 11, 25, 21, 0, 0, 123456, tzinfo=UTC)
runner = CliRunner()


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_sample_passes_the_local_check_and_names_the_vm(kind):
    payload = build_sample(kind, SampleSpec(vm_id=VM, fired=FIRED))
    check_payload(payload, kind)
    assert VM.lower() in json.dumps(payload).lower()


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_sample_is_parsed_by_the_product_as_firing_on_the_vm(kind):
    parsed = alerts.parse_alert(build_sample(kind, SampleSpec(vm_id=VM, fired=FIRED)))
    assert parsed.firing is True
    assert [t.lower() for t in parsed.target_ids] == [VM.lower()]
    assert parsed.fired_at == FIRED.replace(microsecond=123456)


@pytest.mark.parametrize("kind", ["metric", "log", "metric-legacy", "classic"])
def test_resolved_samples_are_not_firing(kind):
    payload = build_sample(kind, SampleSpec(vm_id=VM, fired=FIRED, resolved=True))
    assert alerts.parse_alert(payload).firing is False


def test_schema_specific_facts():
    spec = SampleSpec(vm_id=VM, fired=FIRED)
    dynamic = build_sample("metric-dynamic", spec)["data"]["alertContext"]
    assert dynamic["conditionType"] == "DynamicThresholdCriteria"
    assert dynamic["condition"]["allOf"][0]["alertSensitivity"] == "Medium"
    static = build_sample("metric", spec)["data"]
    assert static["essentials"]["firedDateTime"] == "2026-11-25T21:00:00.1234560Z"
    assert isinstance(static["alertContext"]["condition"]["allOf"][0]["threshold"], str)
    assert build_sample("log", spec)["data"]["essentials"]["monitoringService"] == "Log Alerts V2"
    activity = build_sample("activity", spec)["data"]
    assert activity["essentials"]["signalType"] == "Activity Log"
    assert activity["alertContext"]["eventTimestamp"].endswith("+00:00")
    assert build_sample("metric-legacy", spec)["data"]["status"] == "Activated"
    classic = build_sample("classic", SampleSpec(vm_id=VM, fired=FIRED, region="northeurope"))
    assert "schemaId" not in classic and classic["context"]["resourceRegion"] == "northeurope"


def test_sample_command_prints_json_and_rejects_bad_input():
    result = runner.invoke(app, ["alert", "sample", "metric", "--vm", VM,
                                 "--fired-at", "2026-11-25T21:00:00Z"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["data"]["essentials"]["firedDateTime"].startswith("2026-11-25T21:00:00.0")
    bad_vm = runner.invoke(app, ["alert", "sample", "metric", "--vm", "/subscriptions/x/../vm"])
    assert bad_vm.exit_code == 2 and bad_vm.stderr.startswith("error: --vm:")
    bad_kind = runner.invoke(app, ["alert", "sample", "nope", "--vm", VM])
    assert bad_kind.exit_code == 2 and "unknown sample kind 'nope'" in bad_kind.stderr
    assert "Traceback" not in bad_vm.output + bad_kind.output
