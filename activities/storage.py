"""The capture blobs: their sizes, the files under a scale-set capture's folder, and read-only user-delegation
SAS links for the email (no account keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobSasPermissions, ContainerClient, generate_blob_sas

from activities import clients
from core.capture_files import CaptureFile, folder_prefix, instance_of


def account_url(blob: BlobClient | ContainerClient) -> str:
    """The account endpoint of a blob or container client (path-style emulator URLs keep their account)."""
    url = blob.url.split("?", 1)[0].rstrip("/") + "/"
    marker = f"/{blob.container_name}/"
    return url[: url.index(marker, len("https://"))]


def blob_client(storage_path: str) -> BlobClient:
    """A client for the blob at ``storage_path`` that authenticates with the managed identity."""
    parsed = BlobClient.from_blob_url(storage_path)
    service = clients.blob_service(account_url(parsed))
    return service.get_blob_client(parsed.container_name, parsed.blob_name)


def blob_size(storage_path: str) -> int | None:
    """Size in bytes of the blob at ``storage_path``, or None while it does not exist."""
    try:
        return int(blob_client(storage_path).get_blob_properties().size)
    except ResourceNotFoundError:
        return None


def folder_files(folder_url: str) -> list[CaptureFile]:
    """Every ``.cap`` blob under the folder ``folder_url`` (a scale-set capture), by name, with its size."""
    prefix = folder_prefix(folder_url)
    parsed = BlobClient.from_blob_url(prefix + "x")  # a blob under the folder: gives container and path
    service = clients.blob_service(account_url(parsed))
    container = service.get_container_client(parsed.container_name)
    name_prefix = parsed.blob_name[:-1]
    base = prefix[: len(prefix) - len(name_prefix)]
    files = []
    for item in container.list_blobs(name_starts_with=name_prefix):
        if not item.name.lower().endswith(".cap"):
            continue
        url = base + item.name
        files.append(CaptureFile(url, int(item.size), instance_of(url, folder_url)))
    return sorted(files, key=lambda f: f.url)


def read_link(storage_path: str, valid_hours: int) -> str:
    """A time-limited read-only link signed with a user delegation key of the managed identity."""
    blob = blob_client(storage_path)
    service = clients.blob_service(account_url(blob))
    start = datetime.now(UTC) - timedelta(minutes=5)
    expiry = datetime.now(UTC) + timedelta(hours=valid_hours)
    key = service.get_user_delegation_key(start, expiry)
    assert blob.account_name, f"no storage account in {storage_path}"
    sas = generate_blob_sas(
        account_name=blob.account_name,
        container_name=blob.container_name,
        blob_name=blob.blob_name,
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=expiry,
        start=start,
        protocol="https",
    )
    return f"{blob.url.split('?', 1)[0]}?{sas}"
