"""Token issue and verification: every failure reason is detected and reported as such."""

from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from devstack.common.tokens import TokenError, TokenIssuer, bearer_token

TENANT = "00000000-0000-0000-0000-0000000000aa"
ARM = "https://management.azure.com"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer(TENANT)


def test_issued_token_verifies_with_its_claims(issuer: TokenIssuer) -> None:
    issued = issuer.issue("p1", ARM, timedelta(minutes=5))
    claims = issuer.verify(issued.token, [ARM + "/", "https://management.core.windows.net/"])
    assert claims.principal_id == "p1" and claims.audience == ARM and claims.tenant_id == TENANT
    assert claims.expires_at == issued.expires_on and claims.expires_at - claims.issued_at == 300
    raw = jwt.decode(issued.token, options={"verify_signature": False})
    assert raw["iss"] == f"https://sts.windows.net/{TENANT}/"  # Azurite's --oauth basic requires this prefix
    assert {"nbf", "iat", "exp", "sub", "oid"} <= set(raw)


@pytest.mark.parametrize(
    ("token", "reason"),
    [(None, "missing"), ("", "missing"), ("not-a-jwt", "malformed"), ("a.b.c", "malformed")],
)
def test_missing_and_malformed(issuer: TokenIssuer, token: str | None, reason: str) -> None:
    with pytest.raises(TokenError) as info:
        issuer.verify(token, [ARM])
    assert info.value.reason == reason


def test_expired(issuer: TokenIssuer) -> None:
    token = issuer.issue("p1", ARM, lifetime=-60).token
    with pytest.raises(TokenError) as info:
        issuer.verify(token, [ARM])
    assert info.value.reason == "expired"


def test_expired_by_injected_clock() -> None:
    now = [1_000_000_000.0]
    issuer = TokenIssuer(TENANT, now=lambda: now[0])
    token = issuer.issue("p1", ARM, lifetime=60).token
    with pytest.raises(TokenError) as info:  # issued long ago by the wall clock
        issuer.verify(token, [ARM])
    assert info.value.reason == "expired"


def test_wrong_signature(issuer: TokenIssuer) -> None:
    forged = TokenIssuer(TENANT).issue("p1", ARM).token
    with pytest.raises(TokenError) as info:
        issuer.verify(forged, [ARM])
    assert info.value.reason == "signature"


def test_unsigned_token_is_rejected(issuer: TokenIssuer) -> None:
    raw = jwt.decode(issuer.issue("p1", ARM).token, options={"verify_signature": False})
    unsigned = jwt.encode(raw, key=None, algorithm="none")
    with pytest.raises(TokenError) as info:
        issuer.verify(unsigned, [ARM])
    assert info.value.reason == "malformed"


def test_wrong_audience(issuer: TokenIssuer) -> None:
    token = issuer.issue("p1", "https://storage.azure.com").token
    with pytest.raises(TokenError) as info:
        issuer.verify(token, [ARM])
    assert info.value.reason == "audience"


def test_key_is_persisted_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    first = TokenIssuer.load_or_create(path, TENANT)
    token = first.issue("p1", ARM).token
    again = TokenIssuer.load_or_create(path, TENANT)
    assert again.verify(token, [ARM]).principal_id == "p1"
    assert path.stat().st_mode & 0o077 == 0


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    for header, reason in (
        (None, "missing"),
        ("", "missing"),
        ("Basic abc", "malformed"),
        ("Bearer", "malformed"),
    ):
        with pytest.raises(TokenError) as info:
            bearer_token(header)
        assert info.value.reason == reason
