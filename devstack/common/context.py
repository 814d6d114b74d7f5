"""What every emulator of one running devstack shares."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devstack.common.clock import Clock
from devstack.common.faults import FaultInjector
from devstack.common.rbac import Rbac
from devstack.common.tls import TlsMaterial
from devstack.common.tokens import TokenIssuer
from devstack.config import DevstackConfig


@dataclass(frozen=True)
class StorageRuntime:
    """A storage account as served by the running Azurite (`blob_endpoint` = `https://127.0.0.1:PORT/<name>`)."""

    id: str
    name: str
    key: str
    blob_endpoint: str


@dataclass
class StackContext:
    """Config, credentials and shared services of one devstack, handed to each emulator."""

    config: DevstackConfig
    tls: TlsMaterial
    tokens: TokenIssuer
    rbac: Rbac
    faults: FaultInjector
    clock: Clock
    state_dir: Path
    storage: dict[str, StorageRuntime] = field(default_factory=dict)  # key: lower-case storage account id
    endpoints: dict[str, str] = field(
        default_factory=dict
    )  # service name -> base URL, filled as servers start

    def storage_for_id(self, account_id: str) -> StorageRuntime:
        """The running storage account with this ARM id (case-insensitive); KeyError if unknown."""
        return self.storage[account_id.lower()]

    def storage_for_url(self, url: str) -> tuple[StorageRuntime, str, str]:
        """(account, container, blob name) for a full blob URL under one of our blob endpoints."""
        for account in self.storage.values():
            prefix = account.blob_endpoint.rstrip("/") + "/"
            if url.startswith(prefix):
                container, _, blob = urlsplit(url).path[len(urlsplit(prefix).path) :].partition("/")
                if not container or not blob:
                    raise ValueError(f"blob URL has no container or blob name: {url}")
                return account, unquote(container), unquote(blob)
        raise ValueError(f"not a blob URL of this devstack's storage: {url}")

    async def upload_blob(self, url: str, local_file: Path) -> None:
        """Upload `local_file` to the blob at `url` (shared-key auth), creating the container if missing."""
        from azure.core.credentials import AzureNamedKeyCredential
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob.aio import BlobServiceClient

        account, container, blob = self.storage_for_url(url)
        credential = AzureNamedKeyCredential(account.name, account.key)
        async with BlobServiceClient(
            account.blob_endpoint, credential=credential, connection_verify=str(self.tls.bundle_path)
        ) as service:
            container_client = service.get_container_client(container)
            with contextlib.suppress(ResourceExistsError):
                await container_client.create_container()
            with local_file.open("rb") as data:
                await container_client.upload_blob(blob, data, overwrite=True)

    async def delete_blob(self, url: str) -> None:
        """Delete the blob at `url` (shared-key auth); a blob that is already gone is fine."""
        from azure.core.credentials import AzureNamedKeyCredential
        from azure.core.exceptions import ResourceNotFoundError
        from azure.storage.blob.aio import BlobServiceClient

        account, container, blob = self.storage_for_url(url)
        credential = AzureNamedKeyCredential(account.name, account.key)
        async with BlobServiceClient(
            account.blob_endpoint, credential=credential, connection_verify=str(self.tls.bundle_path)
        ) as service:
            with contextlib.suppress(ResourceNotFoundError):
                await service.get_blob_client(container, blob).delete_blob()
