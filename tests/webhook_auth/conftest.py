"""A tenant whose signing keys the tests own, served over HTTPS on loopback, trusted through SSL_CERT_FILE
(the way the function app trusts the devstack's CA)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.entra.testing import TestTenant, serving_tenant

TENANT_ID = "0a0b0c0d-1111-2222-3333-444455556666"


@pytest.fixture(scope="session")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestTenant]:
    """The test tenant's discovery document and keys on https://127.0.0.1:<port>."""
    with serving_tenant(TENANT_ID, tmp_path_factory.mktemp("entra-tls")) as served:
        yield served


@pytest.fixture
def trust_tenant(tenant: TestTenant, monkeypatch: pytest.MonkeyPatch) -> TestTenant:
    """This process trusts the tenant's CA, as the app does through its SSL_CERT_FILE setting."""
    assert tenant.tls is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tenant.tls.bundle_path))
    return tenant
