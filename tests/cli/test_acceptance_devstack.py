"""Issue 6 acceptance: the CLI in-process against the real devstack running the product.

The devstack is started and stopped with `alertcap dev up` / `alertcap dev down` themselves. App settings
shorten captures (3 s) and retries so a run takes seconds; VMs are added per test so run ids never collide.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alertcap_cli.main import app
from devstack.testing import AdminClient, DevstackState, loopback_config, port_open, wait_until

pytestmark = pytest.mark.e2e
runner = CliRunner()
APP_SETTINGS = {
    "CAPTURE_TIME_LIMIT_SECONDS": "3",
    "ARM_POLLING_INTERVAL_SECONDS": "0.1",
    "ACTIVITY_RETRY_INTERVAL_SECONDS": "0.2",
    "ACTIVITY_RETRY_ATTEMPTS": "2",
    "OVERRUN_GRACE_SECONDS": "30",
}


def stack_config(path: Path) -> Path:
    """The default devstack config on loopback, with fast product settings."""
    loopback_config(path)
    text = path.read_text()
    assert "[app_settings]\n" in text
    lines = "".join(f'{key} = "{value}"\n' for key, value in APP_SETTINGS.items())
    path.write_text(text.replace("[app_settings]\n", "[app_settings]\n" + lines, 1))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[Path, DevstackState]]:
    """`alertcap dev up` a devstack for the module; `alertcap dev down` it afterwards and check it is gone."""
    state_dir = tmp_path_factory.mktemp("cli-devstack")
    config = stack_config(state_dir / "devstack.toml")
    up = runner.invoke(app, ["--state-dir", str(state_dir), "dev", "up", "--config", str(config),
                             "-o", "json"])
    assert up.exit_code == 0, up.stderr[-3000:]
    summary = json.loads(up.stdout)
    assert summary["function_host"] and "master_key" not in summary and "function_key" not in summary
    state = DevstackState.from_file(state_dir / "state.json")
    again = runner.invoke(app, ["--state-dir", str(state_dir), "dev", "up"])
    assert again.exit_code == 0 and again.stdout.startswith("The devstack is already running.")
    try:
        yield state_dir, state
    finally:
        down = runner.invoke(app, ["--state-dir", str(state_dir), "dev", "down"])
        assert down.exit_code == 0, down.stderr
        assert down.stdout.strip() == "The devstack is down."
        assert not (state_dir / "state.json").exists()
        assert not [url for url in state.endpoints() if port_open(url)]


@pytest.fixture
def admin(stack) -> Iterator[AdminClient]:
    with AdminClient(stack[1]) as client:
        client.reset()
        yield client
        client.reset()


@pytest.fixture
def vm(stack, admin) -> str:
    """A VM added at run time, unique to the test."""
    vm_id = (f"/subscriptions/{stack[1].subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
             f"Microsoft.Compute/virtualMachines/vm-cli-{uuid.uuid4().hex[:8]}")
    admin.add_vm({"id": vm_id, "location": "westeurope"})
    return vm_id


def cli(stack, *args: str, input: str | None = None):
    return runner.invoke(app, ["--state-dir", str(stack[0]), *args], input=input)


def send_alert(stack, vm_id: str) -> str:
    """`alert sample metric | alert send -`; returns the run id the webhook started."""
    sample = cli(stack, "alert", "sample", "metric", "--vm", vm_id)
    assert sample.exit_code == 0, sample.stderr
    sent = cli(stack, "alert", "send", "-", "-o", "json", input=sample.stdout)
    assert sent.exit_code == 0, sent.stderr
    (run,) = json.loads(sent.stdout)["runs"]
    assert run["result"] == "started" and run["target"].lower() == vm_id.lower()
    return run["id"]


def show(stack, run_id: str) -> dict:
    result = cli(stack, "runs", "show", run_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_capture_run_is_listed_shown_watched_and_purged(stack, admin, vm):
    run_id = send_alert(stack, vm)
    listed = cli(stack, "runs", "list", "--vm", vm.rsplit("/", 1)[-1], "-o", "json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [run_id]

    watched = cli(stack, "runs", "watch", run_id, "--timeout", "60", "--interval", "0.2", "-o", "json")
    assert watched.exit_code == 0, watched.stderr
    detail = json.loads(watched.stdout)
    assert detail["status"] == "Completed" and detail["phase"] == "done"
    assert detail["output"]["status"] == "succeeded" and detail["target"].lower() == vm.lower()
    assert len([c for c in admin.captures() if c["target"].lower() == vm.lower()]) == 1

    table = cli(stack, "runs", "show", run_id, "--history")
    assert table.exit_code == 0
    assert "Status:       Completed" in table.stdout and "capture_name:" in table.stdout
    assert "TaskCompleted" in table.stdout
    assert all(len(line) <= 80 for line in table.stdout.splitlines())

    purged = cli(stack, "runs", "purge", run_id, "--yes")
    assert purged.exit_code == 0 and purged.stdout.strip() == f"Purged run {run_id}."
    gone = cli(stack, "runs", "show", run_id)
    assert gone.exit_code == 3 and gone.stderr.splitlines()[0] == f"error: no run with id '{run_id}'"


def test_terminate_a_running_capture_run(stack, admin, vm):
    admin.clock(manual=True)  # the emulated capture never reaches its time limit: the run stays capturing
    run_id = send_alert(stack, vm)
    wait_until(lambda: (show(stack, run_id)["phase"] or "").startswith("capturing"), timeout=30,
               message="run capturing")
    result = cli(stack, "runs", "terminate", run_id, "--reason", "operator: wrong VM")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"Terminated run {run_id}; it is now Terminated."
    detail = show(stack, run_id)
    assert detail["status"] == "Terminated" and detail["output"] == "operator: wrong VM"
    listed = cli(stack, "runs", "list", "--status", "Terminated", "-o", "tsv")
    assert any(line.split("\t")[:2] == [run_id, "Terminated"] for line in listed.stdout.splitlines())


def test_rewind_a_run_that_failed_on_arm_500s_after_the_fault_is_cleared(stack, admin, vm):
    admin.add_fault({"operation": "PacketCaptures_Create", "status": 500, "ratio": 1.0})
    run_id = send_alert(stack, vm)
    failed = cli(stack, "runs", "watch", run_id, "--timeout", "90", "--interval", "0.2", "-o", "json")
    assert failed.exit_code == 1, failed.stderr
    assert failed.stderr.startswith(f"error: run {run_id} failed: ")
    assert "retries" in failed.stderr.splitlines()[0]
    assert json.loads(failed.stdout)["output"]["status"] == "failed"

    admin.clear_faults()
    rewound = cli(stack, "runs", "rewind", run_id, "--reason", "ARM is healthy again", "-o", "json")
    assert rewound.exit_code == 0, rewound.stderr
    assert json.loads(rewound.stdout)["action"] == "rewind"
    completed = cli(stack, "runs", "watch", run_id, "--timeout", "60", "--interval", "0.2", "-o", "json")
    assert completed.exit_code == 0, completed.stderr
    assert json.loads(completed.stdout)["output"]["status"] == "succeeded"
    assert len([c for c in admin.captures() if c["target"].lower() == vm.lower()]) == 1


def test_bad_input_against_the_devstack(stack):
    unknown = cli(stack, "runs", "show", "alertcap-000000000000000000000000")
    assert unknown.exit_code == 3 and len(unknown.stderr.splitlines()) == 2
    wrong_key = cli(stack, "--key", "wrong", "runs", "list")
    assert wrong_key.exit_code == 4 and wrong_key.stderr.startswith("error: ")
    rejected = cli(stack, "alert", "send", "--no-validate", "-", input='{"schemaId": "nope"}')
    assert rejected.exit_code == 2 and "schemaId" in rejected.stderr.splitlines()[0]
    assert "Traceback" not in unknown.output + wrong_key.output + rejected.output
