"""The capture blob: its size, and a read-only user-delegation SAS link for the email (no account keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobSasPermissions, generate_blob_sas

from activities import clients


def _account_url(blob: BlobClient) -> str:
    url = blob.url.split("?", 1)[0]
    marker = f"/{blob.container_name}/"
    return url[: url.index(marker, len("https://"))]


def _blob(storage_path: str) -> BlobClient:
    parsed = BlobClient.from_blob_url(storage_path)
    service = clients.blob_service(_account_url(parsed))
    return service.get_blob_client(parsed.container_name, parsed.blob_name)


def blob_size(storage_path: str) -> int | None:
    """Size in bytes of the blob at ``storage_path``, or None while it does not exist."""
    try:
        return int(_blob(storage_path).get_blob_properties().size)
    except ResourceNotFoundError:
        return None


def read_link(storage_path: str, valid_hours: int) -> str:
    """A time-limited read-only link signed with a user delegation key of the managed identity."""
    blob = _blob(storage_path)
    service = clients.blob_service(_account_url(blob))
    start = datetime.now(UTC) - timedelta(minutes=5)
    expiry = datetime.now(UTC) + timedelta(hours=valid_hours)
    key = service.get_user_delegation_key(start, expiry)
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
