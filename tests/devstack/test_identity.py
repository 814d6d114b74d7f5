"""The managed identity emulator, through azure-identity's real credentials (App Service flavour)."""

import time

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from devstack.testing import DevstackState


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        ("https://management.azure.com/.default", "https://management.azure.com"),
        ("https://communication.azure.com//.default", "https://communication.azure.com/"),
        ("https://storage.azure.com/.default", "https://storage.azure.com"),
    ],
)
def test_default_credential_gets_a_token_for_the_app_identity(
    azure_env: DevstackState, scope: str, audience: str
) -> None:
    credential = DefaultAzureCredential()
    token = credential.get_token(scope)
    got = claims(token.token)
    assert got["aud"] == audience
    assert got["oid"] == got["sub"] == azure_env.principal_id
    assert got["iss"] == f"https://sts.windows.net/{azure_env.tenant_id}/"
    assert token.expires_on > time.time() + 3000


def test_wrong_identity_header_is_refused(azure_env: DevstackState, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-secret")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token("https://management.azure.com/.default")


def test_unknown_user_assigned_identity_is_refused(azure_env: DevstackState) -> None:
    credential = ManagedIdentityCredential(client_id="99999999-9999-9999-9999-999999999999")
    with pytest.raises(ClientAuthenticationError):
        credential.get_token("https://management.azure.com/.default")


def test_raw_protocol_errors(devstack_state: DevstackState) -> None:
    url = devstack_state.identity_endpoint
    header = {"X-IDENTITY-HEADER": devstack_state.identity_header}
    with httpx.Client(verify=devstack_state.ssl_context()) as http:
        missing = http.get(url, params={"api-version": "2019-08-01", "resource": "https://management.azure.com"})
        assert missing.status_code == 401
        no_resource = http.get(url, params={"api-version": "2019-08-01"}, headers=header)
        assert no_resource.status_code == 400 and "resource" in no_resource.json()["message"]
        old = {"api-version": "2017-09-01", "resource": "https://x.y"}
        old_api = http.get(url, params=old, headers=header)
        assert old_api.status_code == 400 and "api-version" in old_api.json()["message"]
        ok = http.get(url, params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
                      headers=header)
        assert ok.status_code == 200
        body = ok.json()
        assert body["token_type"] == "Bearer" and int(body["expires_on"]) > time.time()
        assert body["resource"] == "https://management.azure.com"


@pytest.mark.parametrize("resource", ["https://[::1", "https://[zz/", "https://a b", "https://a\x00b"])
def test_unparseable_resources_are_400(devstack_state: DevstackState, resource: str) -> None:
    header = {"X-IDENTITY-HEADER": devstack_state.identity_header}
    with httpx.Client(verify=devstack_state.ssl_context()) as http:
        response = http.get(
            devstack_state.identity_endpoint,
            params={"api-version": "2019-08-01", "resource": resource},
            headers=header,
        )
    assert response.status_code == 400
    assert "not a valid resource URI" in response.json()["message"]
