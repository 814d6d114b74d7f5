"""One source of truth for the app settings: infra/app-settings.json names them; main.bicep builds the Azure
values from it (every entry's `bicep` key must exist in `settingValues`, every value must be used), and the
devstack gives the host exactly the same names, the differences being only endpoints (each explained)."""

from __future__ import annotations

from pathlib import Path

from pycep import BicepParser

from devstack.config import load_config
from devstack.infra import load_infra
from devstack.schema import REPO_INFRA_DIR
from devstack.stack import Stack

FAKE_STATE = {
    "ca_bundle": "/tmp/ca.pem",
    "arm_endpoint": "https://127.0.0.1:1",
    "identity_endpoint": "https://127.0.0.1:2/msi/token",
    "identity_header": "h",
    "acs_endpoint": "https://127.0.0.1:3",
    "entra_authority": "https://127.0.0.1:4",
}


def _setting_values() -> set[str]:
    tree = BicepParser().parse(file_path=REPO_INFRA_DIR / "main.bicep")
    return set(tree["variables"]["settingValues"]["value"])


def test_every_setting_has_an_azure_value_and_every_value_a_setting() -> None:
    infra = load_infra(REPO_INFRA_DIR)
    used = {spec.bicep for spec in infra.app_settings.values()}
    assert used == _setting_values()


def test_devstack_sets_the_same_names_as_azure_the_differences_are_explained(tmp_path: Path) -> None:
    infra = load_infra(REPO_INFRA_DIR)
    stack = Stack(load_config(None), tmp_path)
    stack.state = dict(FAKE_STATE)
    devstack = set(stack.app_settings())
    stood_in = {name for name, spec in infra.app_settings.items() if spec.devstack}
    azure = set(infra.app_settings)
    assert azure - devstack == stood_in  # Azure-only names: each says how the devstack stands in
    assert devstack - azure == set(infra.devstack_only_settings)  # devstack-only names: each says why
    assert all(infra.app_settings[name].endpoint for name in stood_in)


def test_every_setting_name_is_documented() -> None:
    docs = (REPO_INFRA_DIR.parent / "docs" / "settings.md").read_text()
    product = [n for n, spec in load_infra(REPO_INFRA_DIR).app_settings.items() if not spec.devstack]
    assert [n for n in product if f"`{n}`" not in docs] == []
