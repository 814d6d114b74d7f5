"""One host process per test app, shared by the tests of this folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

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
