"""`alert send` with malformed payloads: exit 2, one line naming the problem, no server contacted."""

import json

import pytest
from typer.testing import CliRunner

from alertcap_cli.main import app

runner = CliRunner()
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"


def send(tmp_path, content, *extra):
    path = tmp_path / "alert.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    # --state-dir points nowhere: any attempt to contact an app would fail with exit 1, not 2.
    return runner.invoke(app, ["--state-dir", str(tmp_path / "none"), "alert", "send", str(path), *extra])


@pytest.mark.parametrize(("content", "problem"), [
    ('{"schemaId": "azureMonitorCommonAlertSchema", "data": {', "invalid JSON at line 1 column"),
    ("", "the payload is empty"),
    ("[1, 2]", "must be a JSON object, not an array"),
    (b"\xff\xfe{}", "not UTF-8"),
    ('{"schemaId": "azureMonitorCommonAlertSchema", "data": {}}', "data.essentials is missing"),
    ('{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"monitorCondition": "Fired",'
     ' "alertTargetIDs": "vm1", "firedDateTime": "2026-01-01T00:00:00Z"}}}',
     "data.essentials.alertTargetIDs must be an array, not a string"),
    ('{"schemaId": "AzureMonitorMetricAlert", "data": {"status": "Activated", "context": {}}}',
     "data.context.resourceId is missing"),
    ('{"schemaId": "Something/Else"}', "unsupported schemaId 'Something/Else'"),
    ('{"hello": "world"}', "not an Azure Monitor alert"),
    ("[" * 100_000, "nested too deeply"),
])
def test_malformed_payload_exits_2_naming_the_problem(tmp_path, content, problem):
    result = send(tmp_path, content)
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {tmp_path / 'alert.json'}: ")
    assert problem in first
    assert result.stderr.splitlines()[1].startswith("hint: ")
    assert result.stdout == "" and "Traceback" not in result.output


def test_oversized_payload_is_refused(tmp_path):
    big = json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "pad": "x" * 300_000})
    result = send(tmp_path, big)
    assert result.exit_code == 2 and "over the 256 KB" in result.stderr


def test_missing_file_and_stdin(tmp_path):
    missing = runner.invoke(app, ["alert", "send", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    stdin = runner.invoke(app, ["--state-dir", str(tmp_path), "alert", "send", "-"], input="{oops")
    assert stdin.exit_code == 2 and stdin.stderr.startswith("error: stdin: invalid JSON")


def test_a_valid_payload_goes_on_to_the_target(tmp_path):
    sample = runner.invoke(app, ["alert", "sample", "metric", "--vm", VM]).stdout
    result = send(tmp_path, sample)
    assert result.exit_code == 1  # passed validation, then found no devstack
    assert "no devstack is running" in result.stderr
