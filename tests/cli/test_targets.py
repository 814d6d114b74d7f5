"""Targeting: devstack state, --app-url + key, ARM listkeys; and the errors when none of it works."""

import json

from typer.testing import CliRunner

from alertcap_cli.main import app
from alertcap_cli.target import TargetOptions, resolve_target

runner = CliRunner()
SITE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Web/sites/"


def one_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and text in lines[0], lines
    assert all(line.startswith("hint: ") for line in lines[1:]), lines
    assert "Traceback" not in result.output


def test_no_devstack_running_says_how_to_start_one(tmp_path):
    result = runner.invoke(app, ["--state-dir", str(tmp_path), "runs", "list"])
    one_error(result, 1, "no devstack is running")
    assert "alertcap dev up" in result.stderr


def test_unreachable_app_exits_1_with_a_hint(closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    result = runner.invoke(app, ["--app-url", url, "--key", "k", "runs", "list"])
    one_error(result, 1, f"cannot reach http://127.0.0.1:{closed_port}")
    assert "hint: check --app-url" in result.stderr


def test_unreachable_devstack_host_hints_at_dev_up(tmp_path, closed_port):
    (tmp_path / "state.json").write_text(json.dumps({"function_host": f"http://127.0.0.1:{closed_port}",
                                                     "master_key": "m", "function_key": "f"}))
    result = runner.invoke(app, ["--state-dir", str(tmp_path), "runs", "show", "alertcap-x"])
    one_error(result, 1, "cannot reach")
    assert "alertcap dev up" in result.stderr


def test_app_url_without_any_key_is_an_auth_error(monkeypatch):
    monkeypatch.delenv("ALERTCAP_KEY", raising=False)
    result = runner.invoke(app, ["--app-url", "https://example.invalid", "runs", "list"])
    one_error(result, 4, "no key for https://example.invalid")


def test_bad_app_url_and_app_id_are_usage_errors():
    one_error(runner.invoke(app, ["--app-url", "ftp://x", "--key", "k", "runs", "list"]), 2, "--app-url")
    one_error(runner.invoke(app, ["--app-url", "http://[::1", "--key", "k", "runs", "list"]), 2,
              "invalid app URL")
    one_error(runner.invoke(app, ["--app-id", "/subscriptions/x/oops", "runs", "list"]), 2, "--app-id")


def test_devstack_state_gives_host_keys_and_ca_bundle(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    (tmp_path / "state.json").write_text(json.dumps({
        "function_host": "https://127.0.0.1:9/", "master_key": "m", "function_key": "f",
        "task_hub": "alertcap", "ca_bundle": str(bundle)}))
    target = resolve_target(TargetOptions(state_dir=tmp_path))
    assert (target.base_url, target.management_key, target.webhook_key) == ("https://127.0.0.1:9", "m", "f")
    assert target.verify == str(bundle) and target.task_hub == "alertcap"
    assert target.management_url == "https://127.0.0.1:9/runtime/webhooks/durabletask/"


def test_env_key_is_used_for_a_deployed_app(monkeypatch):
    monkeypatch.setenv("ALERTCAP_KEY", "from-env")
    target = resolve_target(TargetOptions(app_url="https://a.example"))
    assert target.management_key == target.webhook_key == "from-env"


def test_listkeys_through_arm_with_azure_identity(arm_stub):
    arm_stub.keys = {"masterKey": "master", "functionKeys": {"default": "fn"},
                     "systemKeys": {"durabletask_extension": "dt"}}
    arm_stub.host_name = "myapp.azurewebsites.net"
    target = resolve_target(TargetOptions(app_id=SITE + "myapp"))
    assert target.base_url == "https://myapp.azurewebsites.net"
    assert (target.management_key, target.webhook_key) == ("dt", "fn")
    assert ("POST", SITE + "myapp/host/default/listkeys", "2024-04-01") in arm_stub.calls


def test_listkeys_forbidden_names_the_role(arm_stub):
    arm_stub.forbidden_sites.add("locked")
    result = runner.invoke(app, ["--app-url", "https://locked.example", "--app-id", SITE + "locked",
                                 "runs", "list"])
    one_error(result, 4, "ARM refused POST")
    assert "Website Contributor" in result.stderr and "listkeys/action" in result.stderr


def test_arm_server_error_exits_5(arm_stub):
    arm_stub.broken_sites.add("broken")
    result = runner.invoke(app, ["--app-id", SITE + "broken", "runs", "list"])
    one_error(result, 5, "ARM answered HTTP 500")


def test_the_console_script_runs_without_a_traceback(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "alertcap_cli", "--state-dir", str(tmp_path), "runs", "list"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert completed.stdout == "" and completed.stderr.startswith("error: no devstack is running")
    assert "Traceback" not in completed.stderr
