"""Issue 15's acceptance on the devstack: the devstack enforces what a copy of `infra/` deploys.

- A capture-operator role without `Microsoft.Network/locations/operations/read` (deleted from a temporary copy
  of infra/) fails the run with an authorization error naming that action; the repository's infra/ (the
  session's product stack) runs the same alert to success.
- A capture account with `allowSharedKeyAccess: false` in a copy: the capture fails with Azure's error
  (`StorageFailed`) and the email says why.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import product_payloads as p
import pytest

from devstack.product_testing import post, product_config, wait_for_run
from devstack.schema import REPO_INFRA_DIR
from devstack.testing import AdminClient, DevstackState, run_devstack

pytestmark = pytest.mark.e2e
POLL_ACTION = "Microsoft.Network/locations/operations/read"


def _fired_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stack_with_infra(tmp_path_factory: pytest.TempPathFactory, name: str,
                      edit: Callable[[Path], None]) -> Iterator[DevstackState]:
    state_dir = tmp_path_factory.mktemp(name)
    infra = state_dir / "infra"
    shutil.copytree(REPO_INFRA_DIR, infra)
    edit(infra)
    config = product_config(state_dir / "devstack.toml")
    config.write_text(f'infra_dir = "{infra}"\n' + config.read_text())
    with run_devstack(state_dir, config_path=config, host=True, timeout=120) as state:
        assert state.function_host, "the durable host did not start"
        yield state


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


@pytest.fixture(scope="module")
def no_poll_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    def drop_poll_action(infra: Path) -> None:
        _edit_json(infra / "roles" / "capture-operator.json", lambda d: d["actions"].remove(POLL_ACTION))

    yield from _stack_with_infra(tmp_path_factory, "infra-no-poll", drop_poll_action)


@pytest.fixture(scope="module")
def no_shared_key_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    def deny_shared_key(infra: Path) -> None:
        _edit_json(infra / "storage-accounts.json", lambda d: d["capture"].update(allowSharedKeyAccess=False))

    yield from _stack_with_infra(tmp_path_factory, "infra-no-shared-key", deny_shared_key)


def _run_alert(state: DevstackState) -> tuple[str, dict, AdminClient]:
    admin = AdminClient(state)
    name = f"vm-infra-{uuid.uuid4().hex[:8]}"
    vm_id = (f"/subscriptions/{state.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
             f"Microsoft.Compute/virtualMachines/{name}")
    admin.add_vm({"id": vm_id, "location": "westeurope"})
    response = post(state, p.common_metric_static(targets=[vm_id.lower()], fired=_fired_now()))
    assert response.status_code == 202, response.text
    status = wait_for_run(state, response.json()["runs"][0]["instanceId"])
    return name, status["output"], admin


def test_role_without_lro_polling_fails_the_run_naming_the_action(no_poll_stack: DevstackState) -> None:
    _, output, admin = _run_alert(no_poll_stack)
    admin.close()
    assert output["status"] == "failed", output
    assert "AuthorizationFailed" in output["reason"] and POLL_ACTION in output["reason"], output["reason"]


def test_with_the_repository_infra_the_same_alert_succeeds(product_stack: DevstackState) -> None:
    _, output, admin = _run_alert(product_stack)
    admin.close()
    assert output["status"] == "succeeded", output


def test_capture_account_without_shared_keys_fails_with_azures_error_and_the_email_says_why(
    no_shared_key_stack: DevstackState,
) -> None:
    name, output, admin = _run_alert(no_shared_key_stack)
    assert output["status"] == "failed", output
    reason = output["reason"]
    assert "StorageFailed" in reason and "allowSharedKeyAccess" in reason, reason
    (email,) = [e for e in admin.emails() if name in e["subject"]]
    admin.close()
    assert "StorageFailed" in email["plain_text"] and "shared key access" in email["plain_text"]
