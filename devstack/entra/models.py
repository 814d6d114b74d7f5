"""Entra ID documents and claims, shaped like Microsoft's (https://login.microsoftonline.com/<tenant>/v2.0/
.well-known/openid-configuration and the v1/v2 access tokens it describes)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from core.webhook_auth import AZURE_MONITOR_APP_ID, SECURE_WEBHOOK_ROLE

TOKEN_LIFETIME_SECONDS = 3600
V1_ISSUER = "https://sts.windows.net/{tenant}/"
V2_ISSUER = "https://login.microsoftonline.com/{tenant}/v2.0"


@dataclass(frozen=True)
class AppRegistration:
    """The app registration a secure webhook is for: its client (application) id and application id URI."""

    client_id: str
    identifier_uri: str

    @classmethod
    def for_tenant(cls, tenant_id: str) -> AppRegistration:
        """The devstack's registration for the webhook: a stable client id per tenant, `api://<client id>`."""
        client_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"alertcap-webhook:{tenant_id}"))
        return cls(client_id, f"api://{client_id}")


def azure_monitor_object_id(tenant_id: str) -> str:
    """The object id of Azure Monitor's service principal in this tenant (stable per tenant, like Azure)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"azure-monitor-sp:{tenant_id}"))


def discovery_document(base_url: str, tenant_id: str) -> dict[str, Any]:
    """The v2.0 OpenID Connect discovery document of `tenant_id` served under `base_url`."""
    root = f"{base_url.rstrip('/')}/{tenant_id}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": V2_ISSUER.format(tenant=tenant_id),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid", "roles"],
        "tenant_region_scope": "EU",
    }


def secure_webhook_claims(tenant_id: str, audience: str, *, version: int = 1, now: float | None = None,
                          lifetime: int = TOKEN_LIFETIME_SECONDS) -> dict[str, Any]:
    """The claims of the token Entra ID gives Azure Monitor (client credentials) for a secure webhook:
    issued to Azure Monitor's application, for `audience`, with the `ActionGroupsSecureWebhook` app role.

    `version` 1 is the default access token format; 2 when the app registration asks for v2 tokens
    (`azp` instead of `appid`, the v2 issuer).
    """
    issued = int(time.time() if now is None else now)
    sp = azure_monitor_object_id(tenant_id)
    claims: dict[str, Any] = {
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "oid": sp,
        "sub": sp,
        "roles": [SECURE_WEBHOOK_ROLE],
        "tid": tenant_id,
        "idtyp": "app",
        "uti": uuid.uuid4().hex,
    }
    if version == 1:
        issuer = V1_ISSUER.format(tenant=tenant_id)
        claims.update(iss=issuer, idp=issuer, appid=AZURE_MONITOR_APP_ID, appidacr="2", ver="1.0")
    else:
        claims.update(iss=V2_ISSUER.format(tenant=tenant_id), azp=AZURE_MONITOR_APP_ID, azpacr="2", ver="2.0")
    return claims
