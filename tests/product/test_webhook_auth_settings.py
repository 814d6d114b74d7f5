"""WEBHOOK_AUTH and its settings: parsing, the fail-closed auth level, the bearer header, the claim checks."""

from __future__ import annotations

import pytest

from core.errors import ConfigurationError
from core.settings import Settings
from core.webhook_auth import (
    AZURE_MONITOR_APP_ID,
    TokenRejected,
    WebhookAuthMode,
    WebhookAuthSettings,
    check_claims,
    index_time_requires_key,
)
from http_starter.auth import bearer_token

TENANT = "0a0b0c0d-1111-2222-3333-444455556666"
ENTRA = {"WEBHOOK_AUTH": "entra", "WEBHOOK_TENANT_ID": TENANT, "WEBHOOK_AUDIENCES": "api://alertcap; 1234"}


def test_default_is_the_function_key_alone() -> None:
    settings = WebhookAuthSettings.from_mapping({})
    assert settings.mode is WebhookAuthMode.KEY and settings.mode.requires_key
    assert not settings.mode.requires_token and index_time_requires_key({})


@pytest.mark.parametrize(("value", "key", "token"), [("key", True, False), ("entra", False, True),
                                                      ("key+entra", True, True), (" KEY+Entra ", True, True)])
def test_modes(value: str, key: bool, token: bool) -> None:
    mode = WebhookAuthSettings.from_mapping({**ENTRA, "WEBHOOK_AUTH": value}).mode
    assert (mode.requires_key, mode.requires_token) == (key, token)
    assert index_time_requires_key({"WEBHOOK_AUTH": value}) == key


def test_entra_settings_name_issuers_audiences_and_the_discovery_document() -> None:
    settings = WebhookAuthSettings.from_mapping(ENTRA)
    assert settings.audiences == ("api://alertcap", "1234")
    assert settings.issuers == (f"https://sts.windows.net/{TENANT}/",
                                f"https://login.microsoftonline.com/{TENANT}/v2.0")
    assert settings.metadata_url == (f"https://login.microsoftonline.com/{TENANT}/v2.0/"
                                     ".well-known/openid-configuration")


@pytest.mark.parametrize(("changes", "setting"), [
    ({"WEBHOOK_AUTH": "token"}, "WEBHOOK_AUTH"),
    ({"WEBHOOK_TENANT_ID": ""}, "WEBHOOK_TENANT_ID"),
    ({"WEBHOOK_TENANT_ID": "contoso.onmicrosoft.com"}, "WEBHOOK_TENANT_ID"),
    ({"WEBHOOK_AUDIENCES": " ; "}, "WEBHOOK_AUDIENCES"),
    ({"WEBHOOK_AUTHORITY_HOST": "http://login.microsoftonline.com"}, "WEBHOOK_AUTHORITY_HOST"),
])
def test_bad_settings_name_the_setting(changes: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        WebhookAuthSettings.from_mapping({**ENTRA, **changes})
    assert error.value.setting == setting


def test_a_malformed_mode_keeps_the_key_on_the_route() -> None:
    assert index_time_requires_key({"WEBHOOK_AUTH": "none"}) is True


def test_key_mode_needs_no_tenant_and_settings_carry_the_webhook_auth() -> None:
    env = {"ACS_ENDPOINT": "https://acs", "EMAIL_SENDER": "a@b", "EMAIL_RECIPIENTS": "c@d",
           "CAPTURE_STORAGE_ACCOUNT_ID": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/"
                                         "rg/providers/Microsoft.Storage/storageAccounts/caps"}
    assert Settings.from_mapping(env).webhook_auth.mode is WebhookAuthMode.KEY
    assert Settings.from_mapping({**env, **ENTRA}).webhook_auth.tenant_id == TENANT
    with pytest.raises(ConfigurationError):
        Settings.from_mapping({**env, "WEBHOOK_AUTH": "entra"})


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "token abc"])
def test_a_missing_or_non_bearer_authorization_is_the_token_check(header: str | None) -> None:
    with pytest.raises(TokenRejected) as rejected:
        bearer_token({} if header is None else {"Authorization": header})
    assert rejected.value.check == "token"


def test_bearer_token_is_read_case_insensitively() -> None:
    assert bearer_token({"authorization": "bearer abc.def.ghi"}) == "abc.def.ghi"


@pytest.mark.parametrize(("claims", "check"), [
    ({"appid": AZURE_MONITOR_APP_ID, "roles": ["ActionGroupsSecureWebhook"]}, None),
    ({"azp": AZURE_MONITOR_APP_ID.upper(), "roles": ["Other", "ActionGroupsSecureWebhook"]}, None),
    ({"roles": ["ActionGroupsSecureWebhook"]}, "appid"),
    ({"appid": AZURE_MONITOR_APP_ID, "roles": "ActionGroupsSecureWebhook"}, "role"),
    ({"appid": AZURE_MONITOR_APP_ID, "roles": ["actiongroupssecurewebhook"]}, "role"),
])
def test_caller_and_role_checks(claims: dict, check: str | None) -> None:
    if check is None:
        check_claims(claims)
        return
    with pytest.raises(TokenRejected) as rejected:
        check_claims(claims)
    assert rejected.value.check == check
