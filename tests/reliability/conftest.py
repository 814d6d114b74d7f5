"""The reliability suite's devstack: emulators + durable host + the function app with fast settings (3 s
captures, 25 s email retry window), one per session; VMs are added per test so run ids never collide.

`kit.py` (helpers shared with bench/reliability.py) is loaded here under the name `reliability_kit`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.testing import AdminClient, DevstackState, loopback_config, run_devstack

for _name in ("kit",):
    _path = Path(__file__).with_name(f"{_name}.py")
    _spec = importlib.util.spec_from_file_location(f"reliability_{_name}", _path)
    assert _spec and _spec.loader
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[f"reliability_{_name}"] = _module
    _spec.loader.exec_module(_module)

_payloads = Path(__file__).resolve().parents[1] / "product" / "payloads.py"
_spec = importlib.util.spec_from_file_location("product_payloads", _payloads)
assert _spec and _spec.loader
if "product_payloads" not in sys.modules:
    sys.modules["product_payloads"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["product_payloads"])


def reliability_config(path: Path, settings: dict[str, str]) -> Path:
    """The loopback devstack config with ``settings`` added to the app settings."""
    loopback_config(path)
    lines = "".join(f'{key} = "{value}"\n' for key, value in settings.items())
    text = path.read_text()
    assert "[app_settings]\n" in text
    path.write_text(text.replace("[app_settings]\n", "[app_settings]\n" + lines, 1))
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    """One devstack with the durable host for the reliability tests."""
    kit = sys.modules["reliability_kit"]
    state_dir = tmp_path_factory.mktemp("reliability")
    config = reliability_config(state_dir / "devstack.toml", kit.FAST_SETTINGS)
    with run_devstack(state_dir, config_path=config, host=True, timeout=120) as state:
        assert state.function_host, "the durable host did not start"
        yield state


@pytest.fixture
def admin(stack: DevstackState) -> Iterator[AdminClient]:
    """Admin client on the reset devstack (captures, emails, faults and clock cleared)."""
    with AdminClient(stack) as client:
        client.reset()
        yield client
