"""The devstack's local certificate authority and server certificate.

Made at first start with trustme and kept under `<state dir>/tls/`, so later starts reuse them and clients
that trust `ca-bundle.pem` keep working. `ca-bundle.pem` holds the system CAs followed by ours: it is what
`SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE` point at for everything the devstack starts.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from cryptography import x509

SERVER_IDENTITIES = ("127.0.0.1", "localhost", "*.localhost")
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the CA certificate, the server certificate chain and key, and the combined CA bundle."""

    ca_cert_path: Path
    cert_path: Path
    key_path: Path
    bundle_path: Path

    def server_ssl_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the devstack's server certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    def client_ssl_context(self) -> ssl.SSLContext:
        """A TLS client context trusting the combined bundle (system CAs + ours)."""
        return ssl.create_default_context(cafile=str(self.bundle_path))


def system_ca_bundle() -> Path | None:
    """The system's CA bundle file (or certifi's), if one exists."""
    for candidate in SYSTEM_BUNDLES:
        if Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi
    except ImportError:
        return None
    return Path(certifi.where())


def ensure_tls(directory: Path) -> TlsMaterial:
    """Create (or reuse) the CA, the server certificate and the combined bundle under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    material = TlsMaterial(
        ca_cert_path=directory / "ca.pem",
        cert_path=directory / "server.pem",
        key_path=directory / "server-key.pem",
        bundle_path=directory / "ca-bundle.pem",
    )
    ca_key_path = directory / "ca-key.pem"
    if not _still_valid(material, ca_key_path):
        ca = trustme.CA(organization_name="alertcap devstack")
        leaf = ca.issue_cert(
            *SERVER_IDENTITIES,
            common_name="alertcap devstack",
            not_after=datetime.now(UTC) + timedelta(days=825),
        )
        _write_private(ca_key_path, ca.private_key_pem.bytes())
        material.ca_cert_path.write_bytes(ca.cert_pem.bytes())
        material.cert_path.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
        _write_private(material.key_path, leaf.private_key_pem.bytes())
    _write_bundle(material)
    return material


def _still_valid(material: TlsMaterial, ca_key_path: Path) -> bool:
    paths = (material.ca_cert_path, material.cert_path, material.key_path, ca_key_path)
    if not all(p.is_file() for p in paths):
        return False
    try:
        cert = x509.load_pem_x509_certificate(material.cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=1)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_bundle(material: TlsMaterial) -> None:
    system = system_ca_bundle()
    parts = [system.read_bytes().rstrip(b"\n") + b"\n"] if system else []
    parts.append(b"# alertcap devstack CA\n" + material.ca_cert_path.read_bytes())
    tmp = material.bundle_path.with_suffix(".tmp")
    tmp.write_bytes(b"".join(parts))
    tmp.replace(material.bundle_path)
