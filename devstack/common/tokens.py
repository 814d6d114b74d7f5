"""Access tokens: RS256 JWTs signed by the devstack, shaped like Entra ID v1 tokens.

The identity emulator issues them; ARM and ACS verify them (signature, lifetime, issuer, audience). Azurite's
`--oauth basic` mode checks `iss` (must start with `https://sts.windows.net/`), `aud`, `nbf`, `exp` and `iat`
but not the signature, so the same tokens pass there too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_LIFETIME = timedelta(hours=1)
LEEWAY_SECONDS = 5


class TokenError(Exception):
    """A bearer token is missing, malformed, expired, wrongly signed or for another audience."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # missing | malformed | expired | signature | audience | issuer
        self.message = message


@dataclass(frozen=True)
class Claims:
    """What a verified token says: who (`principal_id` = `oid`), for what (`audience`), until when."""

    principal_id: str
    audience: str
    tenant_id: str
    issued_at: int
    expires_at: int
    raw: dict[str, Any]


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token and its expiry (seconds since the epoch)."""

    token: str
    expires_on: int
    not_before: int


def _norm_audience(audience: str) -> str:
    return audience.strip().rstrip("/").lower()


class TokenIssuer:
    """Signs and verifies the devstack's JWTs with one RSA key (persisted with `load_or_create`)."""

    def __init__(
        self, tenant_id: str, key: rsa.RSAPrivateKey | None = None, now: Callable[[], float] = time.time
    ) -> None:
        self.tenant_id = tenant_id
        self.issuer = f"https://sts.windows.net/{tenant_id}/"
        self._key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public = self._key.public_key()
        self._now = now
        self.key_id = uuid.uuid5(uuid.NAMESPACE_OID, str(self._public.public_numbers().n)).hex[:16]

    @classmethod
    def load_or_create(cls, path: Path, tenant_id: str) -> TokenIssuer:
        """Reuse the signing key stored at `path` (PEM), or make one and store it there."""
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
            return cls(tenant_id, key)
        issuer = cls(tenant_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = issuer._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.touch(mode=0o600)
        path.write_bytes(pem)
        return issuer

    def issue(
        self, principal_id: str, audience: str, lifetime: timedelta | float = DEFAULT_LIFETIME
    ) -> IssuedToken:
        """A token for `principal_id` (as `oid` and `sub`) whose `aud` is `audience`, valid for `lifetime`."""
        seconds = lifetime.total_seconds() if isinstance(lifetime, timedelta) else float(lifetime)
        now = int(self._now())
        exp = now + int(seconds)
        claims = {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "oid": principal_id,
            "sub": principal_id,
            "tid": self.tenant_id,
            "appid": principal_id,
            "idtyp": "app",
            "ver": "1.0",
            "uti": uuid.uuid4().hex,
        }
        return IssuedToken(token=self.sign(claims), expires_on=exp, not_before=now)

    def sign(self, claims: dict[str, Any]) -> str:
        """`claims` as an RS256 JWT signed with this key (header `kid` names it)."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def public_jwk(self) -> dict[str, Any]:
        """This key's public half as a JWK, the way Entra ID lists it in a tenant's key set."""
        jwk = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.pop("key_ops", None)  # Entra lists kty, use, kid, n, e (and x5c), not key_ops
        return {**jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}

    def verify(self, token: str | None, audiences: list[str] | tuple[str, ...]) -> Claims:
        """Check signature, lifetime, issuer and audience (trailing '/' and case ignored); else TokenError."""
        if not token:
            raise TokenError("missing", "The access token is missing.")
        try:
            raw = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "iat", "nbf", "aud", "iss", "oid"]},
                leeway=LEEWAY_SECONDS,
                issuer=self.issuer,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("expired", "The access token has expired.") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("signature", "The access token signature is invalid.") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenError("issuer", "The access token issuer is not trusted.") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("malformed", f"The access token is malformed: {exc}.") from exc
        audience = raw.get("aud")
        wanted = {_norm_audience(a) for a in audiences}
        if not isinstance(audience, str) or _norm_audience(audience) not in wanted:
            raise TokenError(
                "audience", f"The access token audience {audience!r} is invalid for this resource."
            )
        if self._now() > raw["exp"] + LEEWAY_SECONDS:  # PyJWT uses the wall clock; honour an injected one too
            raise TokenError("expired", "The access token has expired.")
        return Claims(
            principal_id=str(raw["oid"]),
            audience=audience,
            tenant_id=str(raw.get("tid", "")),
            issued_at=int(raw["iat"]),
            expires_at=int(raw["exp"]),
            raw=raw,
        )


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; TokenError('missing'/'malformed') otherwise."""
    if not authorization or not authorization.strip():
        raise TokenError("missing", "The request has no Authorization header.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("malformed", "The Authorization header is not 'Bearer <token>'.")
    return token.strip()
