"""`python -m devstack up --setting KEY=VALUE` overrides the function app's settings explicitly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.__main__ import parse_settings
from devstack.config import ConfigError
from devstack.paths import REPO_ROOT
from devstack.testing import loopback_config


def test_parse_settings_keeps_values_with_equals_signs() -> None:
    assert parse_settings(["A=1", "CAPTURE_FILTERS=[{\"x\":\"a=b\"}]"]) == {
        "A": "1", "CAPTURE_FILTERS": "[{\"x\":\"a=b\"}]"}


@pytest.mark.parametrize("bad", ["novalue", "=1", "BAD KEY=1", "A-B=1"])
def test_parse_settings_rejects_what_is_not_key_value(bad: str) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_settings([bad])


def test_a_malformed_setting_exits_2_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "up", "--no-host", "--state-dir", str(tmp_path),
         "--setting", "oops"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "'oops' is not KEY=VALUE" in result.stderr
    assert "Traceback" not in result.stderr


def test_detached_devstack_writes_the_override_into_the_app_settings(tmp_path: Path) -> None:
    config = loopback_config(tmp_path / "devstack.toml")
    state_dir = tmp_path / "state"
    base = [sys.executable, "-m", "devstack"]
    up = subprocess.run(
        [*base, "up", "--detach", "--no-host", "--config", str(config), "--state-dir", str(state_dir),
         "--setting", "CAPTURE_TIME_LIMIT_SECONDS=20"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=90,
    )
    try:
        assert up.returncode == 0, up.stderr
        values = json.loads((state_dir / "app.settings.json").read_text())["Values"]
        assert values["CAPTURE_TIME_LIMIT_SECONDS"] == "20"
        assert values["ARM_ENDPOINT"].startswith("https://127.0.0.1:")
    finally:
        subprocess.run([*base, "down", "--state-dir", str(state_dir)], cwd=REPO_ROOT, timeout=60, check=True)
    assert not (state_dir / "state.json").exists()
