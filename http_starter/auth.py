"""Azure Monitor secure webhooks: validating the Entra ID bearer token of a webhook call.

The function key is the Functions host's job (the route's auth level, chosen when the app is indexed: see
``blueprint.py``). This module checks the token when ``WEBHOOK_AUTH`` asks for one: the signature against
the tenant's OpenID Connect signing keys (PyJWT's ``PyJWKClient``: the key set is cached, and an unknown key
id triggers one refresh), then issuer, audience, lifetime, algorithm, caller and app role. Every failure is a
401 whose JSON body names the check. The token itself is never logged nor echoed.

The discovery document and the keys are fetched over HTTPS with Python's default certificate handling
(the system CAs, or ``SSL_CERT_FILE``), like every other outbound call of the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any

import azure.functions as func
import jwt

from core.errors import ConfigurationError
from core.webhook_auth import (
    ALLOWED_ALGORITHM,
    CLOCK_SKEW_SECONDS,
    TokenRejected,
    WebhookAuthSettings,
    check_claims,
)
from http_starter.handler import json_response

FETCH_TIMEOUT_SECONDS = 5.0
KEY_SET_LIFESPAN_SECONDS = 3600.0  # Entra rolls keys with weeks of overlap; an hour keeps a removed key short
REFRESH_COOLDOWN_SECONDS = 30.0  # at most one forced refresh per 30 s, whatever kids callers invent
log = logging.getLogger("alertcap.starter.auth")

_CLAIM_CHECKS = {"exp": "expiry", "nbf": "not_before", "iss": "issuer", "aud": "audience"}


class SigningKeysUnavailable(RuntimeError):
    """The discovery document or the key set could not be fetched: a 503, so Azure Monitor retries."""


class TenantSigningKeys:
    """The tenant's token signing keys: discovery document → ``jwks_uri`` → ``PyJWKClient`` (cached)."""

    def __init__(self, metadata_url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS,
                 lifespan: float = KEY_SET_LIFESPAN_SECONDS,
                 refresh_cooldown: float = REFRESH_COOLDOWN_SECONDS) -> None:
        self.metadata_url = metadata_url
        self._timeout, self._lifespan, self._cooldown = timeout, lifespan, refresh_cooldown
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Any:
        """The public key with this ``kid``; TokenRejected('signing_key') if the tenant has none."""
        client = self._jwks_client()
        try:
            return client.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise SigningKeysUnavailable(f"signing keys: {exc}") from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError):
            pass
        raise TokenRejected("signing_key", "the token's key id is not one of the tenant's signing keys")

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                jwks_uri = self._discover_jwks_uri()
                self._client = jwt.PyJWKClient(jwks_uri, cache_jwk_set=True, lifespan=self._lifespan,
                                               timeout=self._timeout, cooldown_duration=self._cooldown)
            return self._client

    def _discover_jwks_uri(self) -> str:
        try:
            with urllib.request.urlopen(self.metadata_url, timeout=self._timeout) as response:
                document = json.load(response)
        except (OSError, ValueError) as exc:  # URLError, TLS and timeouts are OSErrors
            raise SigningKeysUnavailable(f"OpenID configuration {self.metadata_url}: {exc}") from None
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(jwks_uri, str) or not jwks_uri.lower().startswith("https://"):
            raise SigningKeysUnavailable(f"OpenID configuration {self.metadata_url} has no https jwks_uri")
        return jwks_uri


class EntraTokenValidator:
    """Validates secure-webhook tokens for one tenant and app registration."""

    def __init__(self, settings: WebhookAuthSettings, keys: TenantSigningKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or TenantSigningKeys(settings.metadata_url)

    def validate(self, token: str) -> dict[str, Any]:
        """The token's claims when every check passes; TokenRejected naming the first that fails."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed", "the bearer token is not a JWT") from None
        if header.get("alg") != ALLOWED_ALGORITHM:
            raise TokenRejected("algorithm", f"only {ALLOWED_ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("signing_key", "the token has no key id (kid)")
        key = self.keys.key_for(kid)
        claims = self._decode(token, key)
        check_claims(claims)
        return claims

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token, key, algorithms=[ALLOWED_ALGORITHM], audience=list(self.settings.audiences),
                issuer=self.settings.issuers, leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "nbf", "iss", "aud"]},
            )
        except jwt.MissingRequiredClaimError as exc:
            check = _CLAIM_CHECKS.get(exc.claim, "malformed")
            raise TokenRejected(check, f"the {exc.claim} claim is missing") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("signature", "the signature does not match the tenant's key") from None
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expiry", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("not_before", "the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("audience", "the token is for another application") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("issuer", "the token was not issued by the configured tenant") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRejected("algorithm", f"only {ALLOWED_ALGORITHM} tokens are accepted") from None
        except jwt.PyJWTError:
            raise TokenRejected("malformed", "the token's claims are malformed") from None


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of ``Authorization: Bearer <token>``; TokenRejected('token') when there is none."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "") or ""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("token", "an Entra ID bearer token is required (Authorization: Bearer ...)")
    return token.strip()


class WebhookAuthenticator:
    """What ``WEBHOOK_AUTH`` asks of a call, beyond the function key the host already checked."""

    def __init__(self, settings: WebhookAuthSettings, validator: EntraTokenValidator | None = None) -> None:
        self.settings = settings
        if validator is None and settings.mode.requires_token:
            validator = EntraTokenValidator(settings)
        self.validator = validator

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> WebhookAuthenticator:
        """Built from the app settings; ConfigurationError names a bad one."""
        return cls(WebhookAuthSettings.from_mapping(env))

    async def check(self, req: func.HttpRequest) -> func.HttpResponse | None:
        """None when the call may proceed; otherwise the 401 (or 503) answer."""
        if self.validator is None:
            return None
        try:
            token = bearer_token(req.headers)
            await asyncio.to_thread(self.validator.validate, token)
        except TokenRejected as exc:
            log.warning("webhook call rejected: token check %s failed", exc.check)
            response = json_response(401, exc.to_dict())
            response.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", check="{exc.check}"'
            return response
        except SigningKeysUnavailable as exc:
            log.warning("webhook token not checked: %s", exc)
            return json_response(503, {"error": "signing_keys_unavailable", "message": "retry later"})
        return None


async def authenticate(req: func.HttpRequest, authenticator_loader: Any) -> func.HttpResponse | None:
    """Run the ``WEBHOOK_AUTH`` checks; a misconfigured setting is a 500 naming it (not the value)."""
    try:
        authenticator: WebhookAuthenticator = authenticator_loader()
    except ConfigurationError as exc:
        log.error("configuration error: %s", exc)
        return json_response(500, {"error": "misconfigured", "setting": exc.setting})
    return await authenticator.check(req)
