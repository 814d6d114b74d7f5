"""How the devstack's Azure Monitor calls the webhook under the app's `WEBHOOK_AUTH`: with the function key
in the URL (`key`, `key+entra`) and/or, as an action group's secure webhook does, with a bearer token that
Entra ID issued to Azure Monitor's application for the app registration (`entra`, `key+entra`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from core.errors import ConfigurationError
from core.webhook_auth import WebhookAuthMode, webhook_auth_mode
from devstack.common.tokens import TokenIssuer
from devstack.entra.models import secure_webhook_claims


@dataclass(frozen=True)
class WebhookCaller:
    """What each webhook call carries: the key for `?code=` ('' = none) and a token source (None = none)."""

    mode: WebhookAuthMode
    function_key: str
    token_provider: Callable[[], str] | None


def secure_webhook_caller(app_settings: Mapping[str, str], signer: TokenIssuer,
                          function_key: str) -> WebhookCaller:
    """The caller matching the app's settings; tokens are for the first of `WEBHOOK_AUDIENCES` (the app
    registration's application id URI, as the action group's `identifierUri` says)."""
    try:
        mode = webhook_auth_mode(app_settings)
    except ConfigurationError:
        mode = WebhookAuthMode.KEY  # the app answers 500 naming the setting; the key is still sent
    provider: Callable[[], str] | None = None
    if mode.requires_token:
        tenant = app_settings.get("WEBHOOK_TENANT_ID", "")
        audience = app_settings.get("WEBHOOK_AUDIENCES", "").replace(",", ";").split(";")[0].strip()
        provider = partial(_sign, signer, tenant, audience)
    return WebhookCaller(mode, function_key if mode.requires_key else "", provider)


def _sign(signer: TokenIssuer, tenant: str, audience: str) -> str:
    return signer.sign(secure_webhook_claims(tenant, audience))
