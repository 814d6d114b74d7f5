"""Who may call the alert webhook: the ``WEBHOOK_AUTH`` mode and the checks on an Entra ID token's claims.

Pure logic only: the signature, the key lookup and the HTTP fetches live in ``http_starter/auth.py``.
Azure Monitor's secure webhook sends a bearer token that Microsoft Entra ID issued to Azure Monitor's own
application, for the customer's app registration, carrying that registration's ``ActionGroupsSecureWebhook``
app role (https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.errors import ConfigurationError

AZURE_MONITOR_APP_ID = "461e8683-5575-4561-ac7f-899cc907d62a"
SECURE_WEBHOOK_ROLE = "ActionGroupsSecureWebhook"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
ALLOWED_ALGORITHM = "RS256"
CLOCK_SKEW_SECONDS = 120
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class WebhookAuthMode(Enum):
    """``WEBHOOK_AUTH``: what a webhook call must present."""

    KEY = "key"
    ENTRA = "entra"
    KEY_AND_ENTRA = "key+entra"

    @property
    def requires_key(self) -> bool:
        """The Functions host must check the function key (the route's auth level is ``function``)."""
        return self is not WebhookAuthMode.ENTRA

    @property
    def requires_token(self) -> bool:
        """The starter must validate an Entra ID bearer token."""
        return self is not WebhookAuthMode.KEY


class TokenRejected(Exception):
    """A bearer token failed one check; ``check`` names it in the 401 body (never the token itself)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The JSON body of the 401 answer."""
        return {"error": "unauthorized", "check": self.check, "message": self.message}


@dataclass(frozen=True)
class WebhookAuthSettings:
    """The webhook's authentication settings (see docs/webhook-auth.md)."""

    mode: WebhookAuthMode = WebhookAuthMode.KEY
    tenant_id: str = ""
    audiences: tuple[str, ...] = ()
    authority_host: str = DEFAULT_AUTHORITY_HOST

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> WebhookAuthSettings:
        """Read ``WEBHOOK_AUTH`` and, when it asks for tokens, the tenant, audiences and authority host."""
        mode = webhook_auth_mode(env)
        if not mode.requires_token:
            return cls(mode)
        tenant = (env.get("WEBHOOK_TENANT_ID") or "").strip().lower()
        if not _GUID.match(tenant):
            raise ConfigurationError("WEBHOOK_TENANT_ID", "must be the tenant id (a GUID) when WEBHOOK_AUTH "
                                                          f"is {mode.value}")
        audiences = tuple(a.strip() for a in (env.get("WEBHOOK_AUDIENCES") or "").replace(",", ";").split(";")
                          if a.strip())
        if not audiences:
            raise ConfigurationError("WEBHOOK_AUDIENCES", "must list the app registration's application id "
                                                          "URI and/or client id")
        authority = (env.get("WEBHOOK_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST).strip().rstrip("/")
        if not authority.lower().startswith("https://"):
            raise ConfigurationError("WEBHOOK_AUTHORITY_HOST", "must be an https:// URL")
        return cls(mode, tenant, audiences, authority)

    @property
    def issuers(self) -> tuple[str, str]:
        """The v1 and v2 issuers of the tenant's access tokens."""
        return (f"https://sts.windows.net/{self.tenant_id}/",
                f"https://login.microsoftonline.com/{self.tenant_id}/v2.0")

    @property
    def metadata_url(self) -> str:
        """The tenant's OpenID Connect discovery document (which names the signing keys' ``jwks_uri``)."""
        return f"{self.authority_host}/{self.tenant_id}/v2.0/.well-known/openid-configuration"


def webhook_auth_mode(env: Mapping[str, str]) -> WebhookAuthMode:
    """``WEBHOOK_AUTH`` (default ``key``); ConfigurationError for another value."""
    raw = (env.get("WEBHOOK_AUTH") or "").strip().lower().replace(" ", "")
    if not raw:
        return WebhookAuthMode.KEY
    for mode in WebhookAuthMode:
        if raw == mode.value:
            return mode
    raise ConfigurationError("WEBHOOK_AUTH", "must be key, entra or key+entra")


def index_time_requires_key(env: Mapping[str, str]) -> bool:
    """Whether the route is declared with the function key (read once, when the worker indexes the app).

    Only a valid ``entra`` declares the route anonymous; a malformed value keeps the key (fail closed), and
    the starter then answers 500 naming the setting.
    """
    try:
        return webhook_auth_mode(env).requires_key
    except ConfigurationError:
        return True


def check_claims(claims: Mapping[str, Any]) -> None:
    """The checks after signature, issuer, audience and lifetime: the caller and its app role."""
    caller = claims.get("appid", claims.get("azp"))
    if not isinstance(caller, str) or caller.lower() != AZURE_MONITOR_APP_ID:
        raise TokenRejected("appid", "the token was not issued to Azure Monitor's application")
    roles = claims.get("roles")
    if not isinstance(roles, list) or SECURE_WEBHOOK_ROLE not in roles:
        raise TokenRejected("role", f"the token does not carry the {SECURE_WEBHOOK_ROLE} app role")
