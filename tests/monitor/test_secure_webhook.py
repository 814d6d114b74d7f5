"""The devstack's Azure Monitor under each WEBHOOK_AUTH: key in the URL and/or a token minted as Azure
Monitor's application for the app registration, on every attempt (retries included)."""

from __future__ import annotations

import aiohttp
import jwt
import pytest

from core.webhook_auth import AZURE_MONITOR_APP_ID, SECURE_WEBHOOK_ROLE
from devstack.common.tokens import TokenIssuer
from devstack.entra import AppRegistration
from devstack.monitor.delivery import WebhookSender
from devstack.monitor.secure_webhook import secure_webhook_caller
from devstack.monitor.testing import ManualClock

TENANT = "00000000-0000-0000-0000-0000000000aa"
REGISTRATION = AppRegistration.for_tenant(TENANT)
PAYLOAD = {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"alertRule": "r"}}}


def app_settings(mode: str) -> dict[str, str]:
    return {"WEBHOOK_AUTH": mode, "WEBHOOK_TENANT_ID": TENANT,
            "WEBHOOK_AUDIENCES": f"{REGISTRATION.identifier_uri};{REGISTRATION.client_id}"}


@pytest.mark.parametrize(("mode", "key", "token"), [("key", True, False), ("entra", False, True),
                                                     ("key+entra", True, True), ("bogus", True, False)])
async def test_each_attempt_carries_what_the_mode_asks(receiver, sleeps, mode: str, key: bool,
                                                       token: bool) -> None:
    signer = TokenIssuer(TENANT)
    caller = secure_webhook_caller(app_settings(mode), signer, "secret-key")
    receiver.script([503])
    async with aiohttp.ClientSession() as session:
        sender = WebhookSender(session, receiver.url, caller.function_key, sleep=sleeps,
                               now=ManualClock().now, token_provider=caller.token_provider)
        result = await sender.send(PAYLOAD)
    assert result.delivered and len(receiver.calls) == 2
    for call in receiver.calls:
        assert (call.query.get("code") == "secret-key") is key
        assert ("Authorization" in call.headers) is token
        if token:
            scheme, _, raw = call.headers["Authorization"].partition(" ")
            claims = jwt.decode(raw, jwt.algorithms.RSAAlgorithm.from_jwk(signer.public_jwk()),
                                algorithms=["RS256"], audience=REGISTRATION.identifier_uri,
                                issuer=f"https://sts.windows.net/{TENANT}/")
            assert scheme == "Bearer" and claims["appid"] == AZURE_MONITOR_APP_ID
            assert claims["roles"] == [SECURE_WEBHOOK_ROLE] and claims["tid"] == TENANT
