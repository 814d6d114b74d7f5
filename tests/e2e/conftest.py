"""End-to-end fixtures: one devstack with the durable host running the real function app.

The app settings shorten the capture (3 s) and the polling so a whole run takes seconds; nothing else differs
from Azure. VMs are added per test through ``/_devstack/vms`` so durable instance ids never collide between
tests (instances outlive ``/_devstack/reset``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.monitor.evaluator import JOURNAL_ENV
from devstack.monitor.journal import journal_path
from devstack.product_testing import product_config
from devstack.testing import AdminClient, DevstackState, run_devstack

_path = Path(__file__).resolve().parents[1] / "product" / "payloads.py"
_spec = importlib.util.spec_from_file_location("product_payloads", _path)
assert _spec and _spec.loader
_payloads = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("product_payloads", _payloads)
_spec.loader.exec_module(_payloads)


@contextlib.contextmanager
def product_devstack(state_dir: Path, config_path: Path) -> Iterator[DevstackState]:
    """Emulators + durable host + this function app on ``config_path``."""
    with run_devstack(state_dir, config_path=config_path, host=True, timeout=120) as state:
        assert state.function_host, "the durable host did not start"
        yield state


@pytest.fixture(scope="session")
def product_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    """Emulators + durable host + this function app, for the whole e2e session."""
    state_dir = tmp_path_factory.mktemp("product-e2e")
    with product_devstack(state_dir, product_config(state_dir / "devstack.toml")) as state:
        yield state


@pytest.fixture(scope="module")
def entra_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    """A devstack whose app runs with WEBHOOK_AUTH=entra and whose monitor watches vm-demo (on loopback),
    journaling its notifications under the state dir."""
    state_dir = tmp_path_factory.mktemp("entra-e2e")
    config = product_config(state_dir / "devstack.toml", alert_rules=True, settings={"WEBHOOK_AUTH": "entra"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(JOURNAL_ENV, str(journal_path(state_dir)))
        with run_devstack(state_dir, config_path=config, host=True, timeout=120) as state:
            yield state


@pytest.fixture
def admin(product_stack: DevstackState) -> Iterator[AdminClient]:
    """Admin client on a reset devstack (captures, emails and faults cleared)."""
    with AdminClient(product_stack) as client:
        client.reset()
        yield client


@pytest.fixture
def fresh_vm(admin: AdminClient, product_stack: DevstackState) -> str:
    """A VM added at run time, unique to the test; returns its ARM id."""
    name = f"vm-e2e-{uuid.uuid4().hex[:8]}"
    vm_id = (f"/subscriptions/{product_stack.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
             f"Microsoft.Compute/virtualMachines/{name}")
    admin.add_vm({"id": vm_id, "location": "westeurope"})
    return vm_id


SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"  # devstack/devstack.toml's
WATCHERLESS_SUB = "00000000-0000-0000-0000-0000000000e2"  # no VM of the default config: no watcher at all


def auto_create_config(path: Path) -> Path:
    """The product config with NETWORK_WATCHER_AUTO_CREATE on (infra/ then assigns the watcher creator role at
    the subscription, as its networkWatcherAutoCreate parameter does in Azure), and the same roles in a second
    subscription the app may also capture in."""
    scope = f"/subscriptions/{WATCHERLESS_SUB}"
    product_config(path, settings={"NETWORK_WATCHER_AUTO_CREATE": "true", "AGENT_AUTO_INSTALL": "true",
                                   "ALLOWED_SCOPES": f"/subscriptions/{SUBSCRIPTION};{scope}"})
    assignments = "".join(f"""
[[role_assignments]]
principal_id = "app"
role = "{role}"
scope = "{scope}"
""" for role in ("alertcap network watcher creator", "alertcap packet capture operator"))
    path.write_text(path.read_text() + assignments)
    return path


@pytest.fixture(scope="module")
def auto_create_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    """A devstack whose app runs with NETWORK_WATCHER_AUTO_CREATE and AGENT_AUTO_INSTALL on (issue 10)."""
    state_dir = tmp_path_factory.mktemp("watcher-auto-create")
    with product_devstack(state_dir, auto_create_config(state_dir / "devstack.toml")) as state:
        yield state


@pytest.fixture
def restartable_product_dir(tmp_path: Path) -> Path:
    """A state dir with the product config, for tests that run several devstacks on it in turn."""
    state_dir = tmp_path / "restartable"
    state_dir.mkdir()
    product_config(state_dir / "devstack.toml")
    return state_dir
