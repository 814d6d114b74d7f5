"""One source of truth for the app settings: infra/app-settings.json names them; main.bicep builds the Azure
values from it (every entry's `bicep` key must exist in `settingValues`, every value must be used), and the
devstack gives the host exactly the same names, the differences being only endpoints (each explained)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from core.webhook_auth import WebhookAuthMode, WebhookAuthSettings
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


def _main_bicep() -> dict[str, Any]:
    return BicepParser().parse(file_path=REPO_INFRA_DIR / "main.bicep")


def _setting_values() -> set[str]:
    return set(_main_bicep()["variables"]["settingValues"]["value"])


def test_every_setting_has_an_azure_value_and_every_value_a_setting() -> None:
    infra = load_infra(REPO_INFRA_DIR)
    used = {spec.bicep for spec in infra.app_settings.values()}
    assert used == _setting_values()


@pytest.mark.parametrize("mode", [None, *(m.value for m in WebhookAuthMode)])
def test_devstack_sets_the_same_names_as_azure_the_differences_are_explained(tmp_path: Path,
                                                                             mode: str | None) -> None:
    infra = load_infra(REPO_INFRA_DIR)
    config = load_config(None)
    if mode is not None:  # as `devstack up --setting WEBHOOK_AUTH=...` / `make demo WEBHOOK_AUTH=...` set it
        config.app_settings["WEBHOOK_AUTH"] = mode
    stack = Stack(config, tmp_path)
    stack.state = dict(FAKE_STATE)
    values = stack.app_settings()
    devstack = set(values)
    # the app accepts the devstack's webhook settings in this mode (Azure's: see the webhookAuth test below)
    assert WebhookAuthSettings.from_mapping(values).mode.value == (mode or "key")
    stood_in = {name for name, spec in infra.app_settings.items() if spec.devstack}
    azure = set(infra.app_settings)
    assert azure - devstack == stood_in  # Azure-only names: each says how the devstack stands in
    assert devstack - azure == set(infra.devstack_only_settings)  # devstack-only names: each says why
    assert all(infra.app_settings[name].endpoint for name in stood_in)


def test_every_setting_name_is_documented() -> None:
    docs = (REPO_INFRA_DIR.parent / "docs" / "settings.md").read_text()
    product = [n for n, spec in load_infra(REPO_INFRA_DIR).app_settings.items() if not spec.devstack]
    assert [n for n in product if f"`{n}`" not in docs] == []


def test_webhook_auth_parameter_offers_the_modes_the_app_reads() -> None:
    tree = _main_bicep()
    param = tree["parameters"]["webhookAuth"]
    allowed = next(d["argument"] for d in param["decorators"] if d["type"] == "allowed")
    assert sorted(allowed) == sorted(m.value for m in WebhookAuthMode)
    assert param["default"] == WebhookAuthMode.KEY.value  # the app's default too (WEBHOOK_AUTH unset)
    values = tree["variables"]["settingValues"]["value"]
    assert values["webhookAuth"] == "webhookAuth"
    # with entra/key+entra the audiences are the registration's identifier URI (v1 aud) and client id (v2 aud)
    audiences = values["webhookAudiences"]["operator"]
    assert audiences["type"] == "conditional" and audiences["operands"]["condition"] == "webhookEntra"
    assert audiences["operands"]["true_value"] == "${webhookApp.identifierUri};${webhookApp.clientId}"
    params = json.loads((REPO_INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert params["webhookAuth"]["value"] == "${ALERTCAP_WEBHOOK_AUTH=key}"


def test_the_secure_webhook_module_is_deployed_only_with_entra() -> None:
    module = _main_bicep()["modules"]["secureWebhook"]
    assert module["detail"]["path"] == "app/secure-webhook.bicep"
    assert module["config"]["condition"] == "webhookEntra"
    entra = _main_bicep()["variables"]["webhookEntra"]["value"]["operator"]
    assert entra == {"type": "not_equals", "operands": {"operand_1": "webhookAuth", "operand_2": "key"}}


def _not_equals(variable: dict[str, Any], mode: str) -> bool:
    """Evaluate a `webhookAuth != '<value>'` variable of alerts.bicep for one mode."""
    operator = variable["value"]["operator"]
    assert operator["type"] == "not_equals" and operator["operands"]["operand_1"] == "webhookAuth"
    return mode != operator["operands"]["operand_2"]


@pytest.mark.parametrize("mode", list(WebhookAuthMode))
def test_the_action_group_presents_what_the_app_requires_in_each_mode(mode: WebhookAuthMode) -> None:
    tree = BicepParser().parse(file_path=REPO_INFRA_DIR / "app" / "alerts.bicep")
    with_key = _not_equals(tree["variables"]["withKey"], mode.value)
    with_token = _not_equals(tree["variables"]["withToken"], mode.value)
    assert (with_key, with_token) == (mode.requires_key, mode.requires_token)
    receiver = tree["resources"]["actionGroup"]["config"]["properties"]["webhookReceivers"][0]["function"]
    assert receiver["type"] == "union"
    base, aad = receiver["parameters"]["arg_1"], receiver["parameters"]["arg_2"]["operator"]["operands"]
    assert base["serviceUri"]["operator"]["operands"] == {  # the key in the URL only when the app checks it
        "condition": "withKey", "true_value": "keyedWebhookUrl", "false_value": "webhookUrl"}
    assert base["useAadAuth"] == "withToken" and base["useCommonAlertSchema"] is True
    assert aad["condition"] == "withToken" and aad["false_value"] == {}
    assert set(aad["true_value"]) == {"objectId", "identifierUri", "tenantId"}
