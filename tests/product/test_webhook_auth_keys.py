"""Token validation against a real HTTPS discovery document and key set: caching, one refresh for an unknown
key id, key rotation, and an unreachable tenant (503, so Azure Monitor retries)."""

from __future__ import annotations

import asyncio
import json
import socket

import azure.functions as func
import pytest

from core.errors import ConfigurationError
from core.webhook_auth import TokenRejected, WebhookAuthSettings
from devstack.common.tokens import TokenIssuer
from devstack.entra.testing import TestTenant
from http_starter.auth import EntraTokenValidator, TenantSigningKeys, WebhookAuthenticator, authenticate


def validator_for(tenant: TestTenant, refresh_cooldown: float) -> EntraTokenValidator:
    settings = WebhookAuthSettings.from_mapping(tenant.app_settings("entra"))
    return EntraTokenValidator(settings, TenantSigningKeys(settings.metadata_url,
                                                           refresh_cooldown=refresh_cooldown))


def requests_seen(tenant: TestTenant) -> tuple[int, int]:
    return tenant.emulator.discovery_requests, tenant.emulator.jwks_requests


def test_keys_are_fetched_once_and_cached(trust_tenant: TestTenant) -> None:
    validator = validator_for(trust_tenant, refresh_cooldown=0)
    before = requests_seen(trust_tenant)
    for _ in range(5):
        claims = validator.validate(trust_tenant.token())
    assert claims["roles"] == ["ActionGroupsSecureWebhook"]
    assert requests_seen(trust_tenant) == (before[0] + 1, before[1] + 1)


def test_unknown_key_id_is_rejected_after_exactly_one_refresh(trust_tenant: TestTenant) -> None:
    validator = validator_for(trust_tenant, refresh_cooldown=0)
    validator.validate(trust_tenant.token())  # the key set is now cached
    _, jwks_before = requests_seen(trust_tenant)
    stranger = TokenIssuer(trust_tenant.tenant_id)  # a key the tenant never published
    with pytest.raises(TokenRejected) as rejected:
        validator.validate(trust_tenant.token(signer=stranger))
    assert rejected.value.check == "signing_key"
    assert requests_seen(trust_tenant)[1] == jwks_before + 1


def test_a_rotated_in_key_is_picked_up_by_that_one_refresh(trust_tenant: TestTenant) -> None:
    validator = validator_for(trust_tenant, refresh_cooldown=0)
    validator.validate(trust_tenant.token())
    _, jwks_before = requests_seen(trust_tenant)
    new_key = TokenIssuer(trust_tenant.tenant_id)
    trust_tenant.keys.append(new_key)
    try:
        claims = validator.validate(trust_tenant.token(signer=new_key))
    finally:
        trust_tenant.keys.remove(new_key)
    assert claims["aud"] == trust_tenant.registration.identifier_uri
    assert requests_seen(trust_tenant)[1] == jwks_before + 1


def test_invented_key_ids_cannot_make_the_app_hammer_the_tenant(trust_tenant: TestTenant) -> None:
    validator = validator_for(trust_tenant, refresh_cooldown=30)  # the production cooldown
    validator.validate(trust_tenant.token())
    _, jwks_before = requests_seen(trust_tenant)
    for _ in range(10):
        with pytest.raises(TokenRejected):
            validator.validate(trust_tenant.token(signer=TokenIssuer(trust_tenant.tenant_id)))
    assert requests_seen(trust_tenant)[1] == jwks_before  # still cooling down after the fetch above


def test_the_tenant_is_reached_only_over_trusted_tls(tenant: TestTenant,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system CAs do not know the devstack CA
    authenticator = WebhookAuthenticator(WebhookAuthSettings.from_mapping(tenant.app_settings("entra")))
    answer = asyncio.run(authenticator.check(_request(tenant.token())))
    assert answer is not None and answer.status_code == 503
    assert json.loads(answer.get_body())["error"] == "signing_keys_unavailable"


def test_an_unreachable_tenant_is_503_not_401(tenant: TestTenant) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings = {**tenant.app_settings("entra"), "WEBHOOK_AUTHORITY_HOST": f"https://127.0.0.1:{closed}"}
    authenticator = WebhookAuthenticator.from_mapping(settings)
    answer = asyncio.run(authenticator.check(_request(tenant.token())))
    assert answer is not None and answer.status_code == 503


def _request(token: str) -> func.HttpRequest:
    return func.HttpRequest(method="POST", url="https://app/api/alerts",
                            headers={"Authorization": f"Bearer {token}"}, params={}, route_params={},
                            body=b"{}")


def test_misconfigured_webhook_auth_is_a_500_naming_the_setting(tenant: TestTenant) -> None:
    def broken() -> WebhookAuthenticator:
        return WebhookAuthenticator.from_mapping({**tenant.app_settings("entra"), "WEBHOOK_TENANT_ID": ""})

    with pytest.raises(ConfigurationError):
        broken()
    answer = asyncio.run(authenticate(_request(tenant.token()), broken))
    assert answer is not None and answer.status_code == 500
    assert json.loads(answer.get_body()) == {"error": "misconfigured", "setting": "WEBHOOK_TENANT_ID"}


def test_key_mode_checks_no_token(tenant: TestTenant) -> None:
    authenticator = WebhookAuthenticator.from_mapping({"WEBHOOK_AUTH": "key"})
    assert authenticator.validator is None
    assert asyncio.run(authenticate(_request("garbage"), lambda: authenticator)) is None
