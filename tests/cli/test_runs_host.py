"""The CLI in-process (CliRunner) against a real durable host running tests/cli/app on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from alertcap_cli.client import DurableClient
from alertcap_cli.errors import CliError
from alertcap_cli.main import app
from alertcap_cli.target import Target
from devstack.host.testing import HostProcess, running_host
from devstack.testing import wait_until

APP_DIR = Path(__file__).parent / "app"
VM = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/" \
     "virtualMachines/"
runner = CliRunner()


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Iterator[HostProcess]:
    """One host for this module; every test uses its own run ids."""
    root = tmp_path_factory.mktemp("cli-host")
    settings = root / "settings.json"
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python"}}))
    with running_host(APP_DIR, settings=settings, state_dir=root / "state") as process:
        yield process


def cli(host: HostProcess, *args: str, input: str | None = None):
    """Run `alertcap --state-dir <host state> ARGS` in-process."""
    return runner.invoke(app, ["--state-dir", str(host.state_dir), *args], input=input)


def new_id(tag: str) -> str:
    return f"alertcap-{tag}-{uuid.uuid4().hex[:12]}"


def start(host: HostProcess, name: str, instance_id: str, body: dict) -> str:
    response = httpx.post(f"{host.base_url}/api/start/{name}/{instance_id}",
                          params={"code": host.function_key}, json=body, timeout=10)
    assert response.status_code == 202, response.text
    return instance_id


def status(host: HostProcess, instance_id: str) -> dict:
    response = httpx.get(f"{host.management_url}/instances/{instance_id}",
                         headers={"x-functions-key": host.master_key}, timeout=10)
    return response.json() if response.status_code in (200, 202) else {"runtimeStatus": response.status_code}


def wait_status(host: HostProcess, instance_id: str, wanted: str, timeout: float = 15) -> dict:
    return wait_until(lambda: (s := status(host, instance_id))["runtimeStatus"] == wanted and s,
                      timeout=timeout, message=f"{instance_id} {wanted}")


def start_waiting(host: HostProcess, tag: str, vm: str = "vm-a") -> str:
    run_id = start(host, "wait_run", new_id(tag), {"target": VM + vm})
    wait_until(lambda: (status(host, run_id).get("customStatus") or {}).get("phase") == "waiting",
               timeout=15, message=f"{run_id} waiting")
    return run_id


def release(host: HostProcess, run_id: str) -> None:
    response = httpx.post(f"{host.management_url}/instances/{run_id}/raiseEvent/go", json="now",
                          headers={"x-functions-key": host.master_key}, timeout=10)
    assert response.status_code == 202, response.text


def start_failed(host: HostProcess, tmp_path: Path, tag: str) -> tuple[str, Path]:
    flag = tmp_path / "arm-is-down"
    flag.write_text("500")
    run_id = start(host, "flaky_run", new_id(tag), {"flag": str(flag), "target": VM + "vm-f"})
    wait_status(host, run_id, "Failed")
    return run_id, flag


def only_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if "[y/N]" not in line]
    assert lines and lines[0].startswith("error: ") and text in lines[0], lines
    assert all(line.startswith("hint: ") for line in lines[1:]), lines
    assert "Traceback" not in result.output


# -- list ---------------------------------------------------------------------------------------------------
def test_list_follows_continuation_tokens_and_filters(host):
    tag = uuid.uuid4().hex[:6]
    ours = [start_waiting(host, f"l{tag}", vm=f"vm-{tag}-{i % 2}") for i in range(5)]
    result = cli(host, "runs", "list", "--page-size", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    listed = {r["id"]: r for r in json.loads(result.stdout)}
    assert set(ours) <= set(listed)  # five runs over pages of two: tokens were followed
    assert listed[ours[0]]["status"] == "Running" and listed[ours[0]]["phase"] == "waiting"
    assert listed[ours[0]]["vm"] == f"vm-{tag}-0"

    top = json.loads(cli(host, "runs", "list", "--page-size", "2", "--top", "3", "-o", "json").stdout)
    assert len(top) == 3

    by_vm = json.loads(cli(host, "runs", "list", "--vm", f"VM-{tag}-1", "-o", "json").stdout)
    assert sorted(r["id"] for r in by_vm) == sorted(ours[1::2])

    release(host, ours[0])
    wait_status(host, ours[0], "Completed")
    done = json.loads(cli(host, "runs", "list", "--status", "completed", "-o", "json").stdout)
    assert ours[0] in {r["id"] for r in done} and not set(ours[1:]) & {r["id"] for r in done}
    assert json.loads(cli(host, "runs", "list", "--since", "2999-01-01", "-o", "json").stdout) == []


def test_list_table_and_tsv(host):
    run_id = start_waiting(host, "tbl")
    table = cli(host, "runs", "list")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == ["ID", "STATUS", "PHASE", "VM", "AGE"]
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
    row = next(line for line in cli(host, "runs", "list", "-o", "tsv").stdout.splitlines()
               if line.startswith(run_id))
    assert row.split("\t")[:4] == [run_id, "Running", "waiting", "vm-a"]


# -- show / watch -------------------------------------------------------------------------------------------
def test_show_with_history_timeline(host):
    run_id = start_waiting(host, "show")
    release(host, run_id)
    wait_status(host, run_id, "Completed")
    detail = json.loads(cli(host, "runs", "show", run_id, "--history", "-o", "json").stdout)
    assert detail["status"] == "Completed" and detail["phase"] == "done"
    assert detail["output"]["captureName"] == f"{run_id}-cap"
    assert detail["target"] == VM + "vm-a"
    events = [h["event"] for h in detail["history"]]
    assert events[0] == "ExecutionStarted" and "EventRaised" in events and events[-1] == "ExecutionCompleted"
    assert json.loads(cli(host, "runs", "show", run_id, "-o", "json").stdout)["history"] is None

    table = cli(host, "runs", "show", run_id, "--history")
    assert table.exit_code == 0
    assert "Status:       Completed" in table.stdout and "History" in table.stdout
    assert "captureName: " + run_id in table.stdout
    assert all(len(line) <= 80 for line in table.stdout.splitlines())


def test_watch_exit_codes_say_how_the_run_ended(host, tmp_path):
    running = start_waiting(host, "w8")
    timed_out = cli(host, "runs", "watch", running, "--timeout", "0.5", "--interval", "0.1", "-o", "json")
    only_error(timed_out, 8, f"run {running} is still Running after 0.5s")
    assert json.loads(timed_out.stdout)["status"] == "Running"

    release(host, running)
    completed = cli(host, "runs", "watch", running, "--interval", "0.1", "-o", "json")
    assert completed.exit_code == 0, completed.stderr
    assert json.loads(completed.stdout)["status"] == "Completed"

    failed, _ = start_failed(host, tmp_path, "wf")
    result = cli(host, "runs", "watch", failed, "--interval", "0.1", "-o", "none")
    only_error(result, 1, f"run {failed} failed: ")
    assert "ARM kept answering 500" in result.stderr and "runs rewind" in result.stderr


# -- actions ------------------------------------------------------------------------------------------------
def test_terminate_a_running_run(host):
    run_id = start_waiting(host, "term")
    result = cli(host, "runs", "terminate", run_id, "--reason", "wrong VM")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"Terminated run {run_id}; it is now Terminated."
    final = status(host, run_id)
    assert final["runtimeStatus"] == "Terminated" and final["output"] == "wrong VM"

    again = cli(host, "runs", "terminate", run_id, "--reason", "twice", "-o", "json")
    only_error(again, 1, "already ended (Terminated)")
    watched = cli(host, "runs", "watch", run_id, "-o", "none")
    only_error(watched, 1, f"run {run_id} was terminated: wrong VM")


def test_suspend_and_resume(host):
    run_id = start_waiting(host, "susp")
    suspended = cli(host, "runs", "suspend", run_id, "--reason", "look first", "-o", "json")
    assert suspended.exit_code == 0, suspended.stderr
    assert json.loads(suspended.stdout)["status"] == "Suspended"
    assert status(host, run_id)["runtimeStatus"] == "Suspended"
    only_error(cli(host, "runs", "suspend", run_id), 1, "it is Suspended")

    resumed = cli(host, "runs", "resume", run_id)
    assert resumed.exit_code == 0, resumed.stderr
    assert "Resumed run" in resumed.stdout and status(host, run_id)["runtimeStatus"] == "Running"
    only_error(cli(host, "runs", "resume", run_id), 1, "it is Running")


def test_rewind_a_failed_run_that_then_completes(host, tmp_path):
    run_id, flag = start_failed(host, tmp_path, "rew")
    flag.unlink()  # the cause is fixed
    rewound = cli(host, "runs", "rewind", run_id, "--reason", "ARM is back", "-o", "json")
    assert rewound.exit_code == 0, rewound.stderr
    assert json.loads(rewound.stdout)["action"] == "rewind"
    watched = cli(host, "runs", "watch", run_id, "--interval", "0.1", "-o", "json")
    assert watched.exit_code == 0, watched.stderr
    assert json.loads(watched.stdout)["output"]["step"] == "ok"
    only_error(cli(host, "runs", "rewind", run_id, "--reason", "again"), 1, "already ended (Completed)")


def test_rewind_restarts_a_run_that_completed_with_a_failed_capture(host, tmp_path):
    flag = tmp_path / "arm-is-down"
    flag.write_text("500")
    run_id = start(host, "soft_fail_run", new_id("soft"), {"flag": str(flag), "target": VM + "vm-s"})
    wait_status(host, run_id, "Completed")
    watched = cli(host, "runs", "watch", run_id, "-o", "none")
    only_error(watched, 1, f"run {run_id} failed: creating: Azure kept failing after retries")
    assert "runs rewind" in watched.stderr

    flag.unlink()
    rewound = cli(host, "runs", "rewind", run_id, "--reason", "ARM is back")
    assert rewound.exit_code == 0, rewound.stderr
    assert f"Restarted (same id and input) run {run_id}" in rewound.stdout
    final = cli(host, "runs", "watch", run_id, "--interval", "0.1", "-o", "json")
    assert final.exit_code == 0, final.stderr
    assert json.loads(final.stdout)["output"]["status"] == "succeeded"


def test_rewind_refuses_a_running_run(host):
    run_id = start_waiting(host, "rewr")
    result = cli(host, "runs", "rewind", run_id, "--reason", "x")
    only_error(result, 1, f"cannot rewind run {run_id}: it is Running")


def test_purge_one_run_asks_first(host):
    run_id = start_waiting(host, "pur")
    release(host, run_id)
    wait_status(host, run_id, "Completed")
    declined = cli(host, "runs", "purge", run_id, input="n\n")
    only_error(declined, 1, "purge cancelled; nothing was deleted")
    assert "[y/N]" in declined.stderr and status(host, run_id)["runtimeStatus"] == "Completed"

    agreed = cli(host, "runs", "purge", run_id, input="y\n")
    assert agreed.exit_code == 0, agreed.stderr
    assert agreed.stdout.strip() == f"Purged run {run_id}."
    assert status(host, run_id)["runtimeStatus"] == 404
    only_error(cli(host, "runs", "purge", run_id, "--yes"), 3, f"no run with id '{run_id}'")


def test_purge_before_with_yes_keeps_running_runs(host):
    running = start_waiting(host, "pbr")
    ended = start_waiting(host, "pbe")
    release(host, ended)
    wait_status(host, ended, "Completed")
    asked = cli(host, "runs", "purge", "--before", "now", "--status", "Completed")
    only_error(asked, 1, "purge cancelled")
    assert status(host, ended)["runtimeStatus"] == "Completed"

    result = cli(host, "runs", "purge", "--before", "now", "--status", "Completed", "--yes", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["deleted"] >= 1
    assert status(host, ended)["runtimeStatus"] == 404
    assert status(host, running)["runtimeStatus"] == "Running"
    only_error(cli(host, "runs", "purge", "--before", "now", "--status", "Running", "--yes"), 2,
               "cannot purge Running runs")
    only_error(cli(host, "runs", "purge"), 2, "give either a run ID or --before TIME")


# -- bad input ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["show"], ["watch"], ["terminate", "--reason", "r"], ["suspend"],
                                     ["resume"], ["rewind", "--reason", "r"], ["purge", "--yes"]])
def test_unknown_id_exits_3_with_one_line(host, command):
    result = cli(host, "runs", command[0], "alertcap-does-not-exist", *command[1:])
    only_error(result, 3, "no run with id 'alertcap-does-not-exist'")
    assert result.stdout == ""


def test_wrong_key_exits_4(host):
    for args in (["runs", "list"], ["runs", "show", "alertcap-x"]):
        result = cli(host, "--key", "not-the-key", *args)
        only_error(result, 4, "rejected the key (HTTP 401)")


def test_deployed_style_targeting_with_app_url_and_key(host, monkeypatch):
    run_id = start_waiting(host, "url")
    monkeypatch.setenv("ALERTCAP_KEY", host.master_key)
    result = runner.invoke(app, ["--app-url", host.base_url, "runs", "show", run_id, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == run_id


def test_keys_fetched_through_arm_listkeys(host, arm_stub):
    run_id = start_waiting(host, "arm")
    arm_stub.keys = {"masterKey": host.master_key, "functionKeys": {}, "systemKeys": {}}
    site = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app"
    result = runner.invoke(app, ["--app-url", host.base_url, "--app-id", site, "runs", "show", run_id])
    assert result.exit_code == 0, result.stderr
    assert f"ID:           {run_id}" in result.stdout


# -- alert send ---------------------------------------------------------------------------------------------
def test_alert_send_prints_the_runs_it_started(host):
    vm = VM + f"vm-send-{uuid.uuid4().hex[:6]}"
    sample = runner.invoke(app, ["alert", "sample", "metric", "--vm", vm])
    sent = cli(host, "alert", "send", "-", "-o", "json", input=sample.stdout)
    assert sent.exit_code == 0, sent.stderr
    reply = json.loads(sent.stdout)
    assert reply["httpStatus"] == 202 and len(reply["runs"]) == 1
    run = reply["runs"][0]
    assert run["result"] == "started" and run["target"] == vm.lower()
    assert wait_status(host, run["id"], "Running")

    again = cli(host, "alert", "send", "-", input=sample.stdout)
    assert again.exit_code == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0].split() == ["ID", "RESULT", "TARGET"]
    assert lines[1].split()[:2] == [run["id"], "duplicate"]


def test_alert_send_rejected_by_the_app_exits_2(host):
    result = cli(host, "alert", "send", "--no-validate", "-", input='{"schemaId": "x"}')
    only_error(result, 2, "the webhook rejected the payload (HTTP 400): data.essentials.alertTargetIDs")


def test_purge_refuses_a_running_run_and_says_to_terminate_first(host):
    """Issue 9 defect 2: purging a Running run exited 0 and the run was silently lost."""
    run_id = start_waiting(host, "purr")
    result = cli(host, "runs", "purge", run_id, "--yes")
    only_error(result, 1, f"cannot purge run {run_id}: it is Running")
    assert f"alertcap runs terminate {run_id}" in result.stderr
    assert status(host, run_id)["runtimeStatus"] == "Running"


def test_a_purge_the_host_refuses_is_explained(host):
    run_id = start_waiting(host, "pur412")
    target = Target(host.base_url, host.master_key, None, True, None, "the test host")
    client = DurableClient(target)
    with pytest.raises(CliError) as refused:
        client.purge(run_id)  # the race: the run was checked, then the host refuses with 412
    assert "not over" in refused.value.message and "has status Running" in refused.value.message
    assert any("terminate it first" in hint for hint in refused.value.hints)


def test_watch_a_run_whose_email_failed_exits_9_and_list_and_show_say_so(host):
    run_id = start(host, "unnotified_run", new_id("nof"), {"target": VM + "vm-n"})
    wait_status(host, run_id, "Completed")
    watched = cli(host, "runs", "watch", run_id, "--timeout", "10")
    only_error(watched, 9, f"run {run_id} completed, but its email was not sent")
    listed = {r["id"]: r for r in json.loads(cli(host, "runs", "list", "-o", "json").stdout)}
    assert listed[run_id]["notification"] == "failed"
    table = cli(host, "runs", "show", run_id)
    assert "Completed, notification failed" in table.stdout
