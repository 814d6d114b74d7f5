"""Product test helpers: modules in this folder (not a package) loaded under ``product_<name>`` names, and
a tenant whose signing keys the tests own, served over HTTPS on loopback (the webhook auth tests)."""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.entra.testing import TestTenant, serving_tenant

for _name in ("replay_harness", "payloads", "hosts"):
    _path = Path(__file__).with_name(f"{_name}.py")
    _spec = importlib.util.spec_from_file_location(f"product_{_name}", _path)
    assert _spec and _spec.loader
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[f"product_{_name}"] = _module
    _spec.loader.exec_module(_module)

WEBHOOK_TENANT_ID = "0a0b0c0d-1111-2222-3333-444455556666"


@pytest.fixture(scope="session")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestTenant]:
    """A tenant's discovery document and keys on https://127.0.0.1:<port> (certificate from a test CA)."""
    with serving_tenant(WEBHOOK_TENANT_ID, tmp_path_factory.mktemp("entra-tls")) as served:
        yield served


@pytest.fixture
def trust_tenant(tenant: TestTenant, monkeypatch: pytest.MonkeyPatch) -> TestTenant:
    """This process trusts the tenant's CA, as the app does through its SSL_CERT_FILE setting."""
    assert tenant.tls is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tenant.tls.bundle_path))
    return tenant
