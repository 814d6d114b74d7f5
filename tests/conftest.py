"""Fixtures shared by every test area.

- `devstack_session` (session): one devstack (emulators + Azurite, no durable host, VMs on loopback, no alert
  rules) for the whole run; `devstack_state` (function) resets it and returns its `DevstackState`.
- `devstack_host_session` / `devstack_host_state`: the same with the durable Functions host (and the alert
  monitor when configured); the host starts only if `devstack.host` is runnable.
- `devstack_admin`: an `AdminClient` for the reset devstack.
- `_close_sdk_session` (autouse): closes the durable SDK client's module-global aiohttp session at the end.
  That session is bound to the loop that first used it, so in-process client tests run on the session loop
  (`pytest.mark.asyncio(loop_scope="session")`), as the Functions worker runs every function on one loop.
- `azure_env`: the process environment for Azure SDK clients: managed identity and CA bundle = the
  devstack's, and no AZURE_*/MSI_*/IDENTITY_*/IMDS_* left over from the real environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from devstack.testing import AdminClient, DevstackState, loopback_config, point_azure_env_at, run_devstack


def _loopback_devstack(
    tmp_path_factory: pytest.TempPathFactory, name: str, host: bool
) -> Iterator[DevstackState]:
    """Run a devstack with every VM on loopback (no namespaces, no alert rules) until the session ends."""
    state_dir = tmp_path_factory.mktemp(name)
    config = loopback_config(state_dir / "devstack.toml")
    with run_devstack(state_dir, config_path=config, host=host) as state:
        yield state


def _reset(state: DevstackState) -> DevstackState:
    """Reset the emulators' state (captures, emails, VMs added at run time, faults, clock)."""
    with AdminClient(state) as admin:
        admin.reset()
    return state


@pytest.fixture(scope="session")
def devstack_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    """A devstack without the durable host, shared by the session."""
    yield from _loopback_devstack(tmp_path_factory, "devstack", host=False)


@pytest.fixture
def devstack_state(devstack_session: DevstackState) -> DevstackState:
    """The session devstack, reset before the test."""
    return _reset(devstack_session)


@pytest.fixture
def devstack_admin(devstack_state: DevstackState) -> Iterator[AdminClient]:
    """An admin client for the reset session devstack."""
    with AdminClient(devstack_state) as admin:
        yield admin


@pytest.fixture(scope="session")
def devstack_host_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    """A devstack with the durable Functions host, shared by the session."""
    yield from _loopback_devstack(tmp_path_factory, "devstack-host", host=True)


@pytest.fixture
def devstack_host_state(devstack_host_session: DevstackState) -> DevstackState:
    """The session devstack with host, reset before the test."""
    return _reset(devstack_host_session)


@pytest.fixture
def azure_env(devstack_state: DevstackState, monkeypatch: pytest.MonkeyPatch) -> DevstackState:
    """Point Azure SDK credentials and TLS at the devstack, with nothing from the real environment."""
    return point_azure_env_at(devstack_state, monkeypatch)


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _close_sdk_session() -> AsyncIterator[None]:
    """The SDK client's module-global aiohttp session has no shutdown hook; close it at the end."""
    yield
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()
