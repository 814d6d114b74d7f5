"""One host process per test app, shared by the tests of this folder."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from devstack.host.testing import HostProcess, start_host

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="session")
def patterns_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """The patterns app on its own state dir."""
    host = start_host(APPS / "patterns", state_dir=tmp_path_factory.mktemp("patterns-state"))
    yield host
    host.stop()


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A directory for activity side-effect files."""
    return tmp_path


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _close_sdk_session() -> AsyncIterator[None]:
    """The SDK client's module-global aiohttp session has no shutdown hook; close it at the end."""
    yield
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()
