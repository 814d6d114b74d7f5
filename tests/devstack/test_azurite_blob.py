"""Blob storage on Azurite through azure-storage-blob: managed identity, shared key, user-delegation SAS,
and the `StackContext.upload_blob` the capture agent uses."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobClient, BlobSasPermissions, BlobServiceClient, generate_blob_sas

from devstack.azurite import Azurite
from devstack.common.clock import Clock
from devstack.common.context import StackContext, StorageRuntime
from devstack.common.faults import FaultInjector
from devstack.common.rbac import Rbac
from devstack.common.tls import ensure_tls
from devstack.common.tokens import TokenIssuer
from devstack.config import load_config
from devstack.testing import AdminClient, DevstackState

pytestmark = pytest.mark.usefixtures("azure_env")


def account_name(state: DevstackState) -> str:
    return state.capture_storage_account_id.rsplit("/", 1)[1]


def upload_with_identity(state: DevstackState, data: bytes) -> tuple[BlobServiceClient, str, str]:
    service = BlobServiceClient(state.blob_endpoint, credential=DefaultAzureCredential())
    container = f"c{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    service.get_blob_client(container, "dir/capture.cap").upload_blob(data)
    return service, container, "dir/capture.cap"


def test_managed_identity_uploads_and_downloads(azure_env: DevstackState) -> None:
    service, container, blob = upload_with_identity(azure_env, b"pcap bytes")
    assert service.get_blob_client(container, blob).download_blob().readall() == b"pcap bytes"
    assert [b.name for b in service.get_container_client(container).list_blobs()] == [blob]


def read_only_delegation_sas(state: DevstackState, service, container: str, blob: str) -> str:
    """A one-hour, read-only user-delegation SAS for one blob, signed with the managed identity's key."""
    now = datetime.now(UTC)
    key = service.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))
    return generate_blob_sas(
        account_name(state),
        container,
        blob,
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=now + timedelta(hours=1),
    )


def test_user_delegation_sas_url_reads_without_credentials(azure_env: DevstackState) -> None:
    service, container, blob = upload_with_identity(azure_env, b"shared capture")
    sas = read_only_delegation_sas(azure_env, service, container, blob)
    url = f"{service.get_blob_client(container, blob).url}?{sas}"
    assert BlobClient.from_blob_url(url).download_blob().readall() == b"shared capture"
    with pytest.raises(HttpResponseError) as info:  # read-only SAS cannot write
        BlobClient.from_blob_url(url).upload_blob(b"overwrite", overwrite=True)
    assert info.value.status_code == 403


def test_tampered_user_delegation_sas_is_refused(azure_env: DevstackState) -> None:
    service, container, blob = upload_with_identity(azure_env, b"x")
    sas = read_only_delegation_sas(azure_env, service, container, blob)
    tampered = sas.replace("sp=r", "sp=rw")
    with pytest.raises(HttpResponseError) as info:
        BlobClient.from_blob_url(f"{service.get_blob_client(container, blob).url}?{tampered}").download_blob()
    assert info.value.status_code == 403


class FixedToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self.token, 2_000_000_000)


def test_token_for_another_audience_is_refused(azure_env: DevstackState) -> None:
    with AdminClient(azure_env) as admin:
        arm_token = admin.issue_token(azure_env.principal_id, "https://management.azure.com")
    service = BlobServiceClient(azure_env.blob_endpoint, credential=FixedToken(arm_token))
    with pytest.raises((ClientAuthenticationError, HttpResponseError)) as info:
        service.create_container(f"c{uuid.uuid4().hex[:12]}")
    assert info.value.status_code in (401, 403)


async def test_stack_context_upload_blob_creates_the_container(tmp_path: Path) -> None:
    config = load_config(None)
    tls = ensure_tls(tmp_path / "tls")
    azurite = Azurite(tls, config.storage_accounts, tmp_path / "azurite")
    await azurite.start()
    try:
        account = config.capture_account
        ctx = StackContext(
            config=config,
            tls=tls,
            tokens=TokenIssuer(config.tenant_id),
            rbac=Rbac.from_config(config.role_assignments, config.custom_roles),
            faults=FaultInjector(),
            clock=Clock(),
            state_dir=tmp_path,
            storage={
                account.id.lower(): StorageRuntime(
                    account.id, account.name, account.key, azurite.blob_endpoint(account.name)
                )
            },
        )
        local = tmp_path / "capture.cap"
        local.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\0" * 20)
        blob_path = "network-watcher-logs/subscriptions/s/vm1/packetcapture_1.cap"
        url = f"{azurite.blob_endpoint(account.name)}/{blob_path}"
        await ctx.upload_blob(url, local)
        await ctx.upload_blob(url, local)  # container exists now; overwrite works
        blob = BlobClient.from_blob_url(
            url,
            credential=AzureNamedKeyCredential(account.name, account.key),
            connection_verify=str(tls.bundle_path),
        )
        assert blob.download_blob().readall() == local.read_bytes()
        with pytest.raises(ValueError, match="not a blob URL"):
            await ctx.upload_blob("https://example.com/x/y/z", local)
    finally:
        await azurite.stop()
    assert azurite.port is None
