"""WEBHOOK_AUTH end to end through the durable Functions host running this function app: the host enforces
the function key from the route's auth level (chosen when the app is indexed), the starter the token.

Tokens are minted with keys the tests own and checked against the tenant's key set over HTTPS."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import product_payloads as p
import pytest
from cryptography.hazmat.primitives import serialization
from product_hosts import offline_settings, write_settings

from core.webhook_auth import AZURE_MONITOR_APP_ID
from devstack.common.tokens import TokenIssuer
from devstack.entra.testing import TestTenant
from devstack.host.testing import HostProcess, running_host
from devstack.paths import REPO_ROOT

MODES = ("key", "entra", "key+entra")


def alert(condition: str = "Fired") -> dict:
    """A metric alert on a VM of its own (Fired starts a run; Resolved is answered 200 "ignored")."""
    fired = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return p.common_metric_static(targets=[p.VM_ID.replace("web-1", f"vm-{uuid.uuid4().hex[:8]}")],
                                  condition=condition, fired=fired)


@pytest.fixture(scope="module")
def hosts(tenant: TestTenant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, HostProcess]]:
    """One host per WEBHOOK_AUTH mode; Azure endpoints point at a closed port (started runs fail fast)."""
    assert tenant.tls is not None
    bundle = str(tenant.tls.bundle_path)
    with contextlib.ExitStack() as stack:
        started: dict[str, HostProcess] = {}
        for mode in MODES:
            settings = offline_settings(SSL_CERT_FILE=bundle, REQUESTS_CA_BUNDLE=bundle,
                                        **tenant.app_settings(mode))
            folder = tmp_path_factory.mktemp(f"webhook-{mode.replace('+', '-')}")
            path = write_settings(folder / "settings.json", settings)
            started[mode] = stack.enter_context(running_host(REPO_ROOT, settings=path))
        yield started


def call(host: HostProcess, *, key: bool, token: str | None, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"code": host.function_key} if key else {}
    return httpx.post(f"{host.base_url}/api/alerts", params=params, headers=headers,
                      json=body or alert("Resolved"), timeout=15)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_pem(signer: TokenIssuer) -> bytes:
    public = jwt.algorithms.RSAAlgorithm.from_jwk(signer.public_jwk())
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def hs256_with_public_key(tenant: TestTenant) -> str:
    """The classic key-confusion forgery: HMAC-SHA256 keyed with the tenant's public key."""
    signer = tenant.keys[0]
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signer.key_id}).encode())
    body = b64(json.dumps(tenant.claims()).encode())
    mac = hmac.new(public_pem(signer), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def v2(tenant: TestTenant) -> str:
    """The tenant's v2 issuer."""
    return f"https://login.microsoftonline.com/{tenant.tenant_id}/v2.0"


def alg_none(tenant: TestTenant) -> str:
    return jwt.encode(tenant.claims(), None, algorithm="none", headers={"kid": tenant.keys[0].key_id})


def tampered(tenant: TestTenant) -> str:
    """A valid token whose payload was swapped for one with another audience; the signature is kept."""
    head, _, signature = tenant.token().split(".")
    forged = b64(json.dumps(tenant.claims(aud="api://attacker")).encode())
    return f"{head}.{forged}.{signature}"


NOW = int(time.time())
BAD_TOKENS = {
    "wrong issuer": ("issuer", lambda t: t.token(iss=f"https://sts.windows.net/{uuid.uuid4()}/")),
    "wrong audience": ("audience", lambda t: t.token(aud="api://another-app")),
    "wrong appid": ("appid", lambda t: t.token(appid=str(uuid.uuid4()))),
    "v2 token from another client": ("appid", lambda t: t.token(appid=None, azp=str(uuid.uuid4()),
                                                                iss=v2(t))),
    "missing role": ("role", lambda t: t.token(roles=None)),
    "another role": ("role", lambda t: t.token(roles=["Reader"])),
    "expired": ("expiry", lambda t: t.token(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200,
                                            exp=int(time.time()) - 600)),
    "not yet valid": ("not_before", lambda t: t.token(iat=int(time.time()) + 600, nbf=int(time.time()) + 600,
                                                      exp=int(time.time()) + 4200)),
    "alg none": ("algorithm", alg_none),
    "HS256 signed with the public key": ("algorithm", hs256_with_public_key),
    "unknown key id": ("signing_key", lambda t: t.token(signer=TokenIssuer(t.tenant_id))),
    "tampered payload": ("signature", tampered),
    "not a JWT": ("malformed", lambda t: "not-a-jwt"),
}


def test_a_valid_token_without_a_key_starts_a_run(hosts: dict[str, HostProcess], tenant: TestTenant) -> None:
    response = call(hosts["entra"], key=False, token=tenant.token(), body=alert("Fired"))
    assert response.status_code == 202, response.text
    assert response.json()["runs"][0]["outcome"] == "started"


def test_a_v2_token_for_the_client_id_is_accepted(hosts: dict[str, HostProcess], tenant: TestTenant) -> None:
    token = tenant.token(appid=None, azp=AZURE_MONITOR_APP_ID, ver="2.0", iss=v2(tenant),
                         aud=tenant.registration.client_id)
    response = call(hosts["entra"], key=False, token=token, body=alert("Fired"))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_each_bad_token_is_401_naming_the_check(hosts: dict[str, HostProcess], tenant: TestTenant,
                                                case: str) -> None:
    check, make = BAD_TOKENS[case]
    response = call(hosts["entra"], key=False, token=make(tenant), body=alert("Fired"))
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "unauthorized", "check": check, "message": response.json()["message"]}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# (mode, key sent, token sent) -> allowed
MATRIX = [
    ("key", True, False, True), ("key", False, False, False), ("key", False, True, False),
    ("key", True, True, True),
    ("entra", True, False, False), ("entra", False, False, False), ("entra", False, True, True),
    ("entra", True, True, True),
    ("key+entra", True, False, False), ("key+entra", False, True, False), ("key+entra", False, False, False),
    ("key+entra", True, True, True),
]


@pytest.mark.parametrize(("mode", "key", "token", "allowed"), MATRIX)
def test_key_and_token_combinations_follow_webhook_auth(hosts: dict[str, HostProcess], tenant: TestTenant,
                                                        mode: str, key: bool, token: bool,
                                                        allowed: bool) -> None:
    response = call(hosts[mode], key=key, token=tenant.token() if token else None)
    if allowed:
        assert response.status_code == 200 and response.json()["status"] == "ignored", response.text
    else:
        assert response.status_code == 401, response.text
        if key or mode == "entra":  # the host let it through: the starter names the missing token
            assert response.json()["check"] == "token"


def test_tokens_never_reach_the_host_log(hosts: dict[str, HostProcess], tenant: TestTenant) -> None:
    token = tenant.token()
    bad = tenant.token(aud="api://another-app")
    for host in hosts.values():
        call(host, key=True, token=token)
        call(host, key=False, token=bad)
    for host in hosts.values():
        log = host.log_text()
        assert token.split(".")[2] not in log and bad.split(".")[2] not in log
        assert token.split(".")[1] not in log
