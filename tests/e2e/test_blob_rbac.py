"""The capture account's blob role is enforced on the devstack: a copy of `infra/` whose harvester role lacks
`blobs/write` makes the harvest's server-side copy fail with Azure Storage's authorization error, and granting
the write back (a runtime role assignment) makes the same harvest succeed.

The harvest is the product's activity code (`activities.ring_ops.harvest`, real SDK, the devstack's managed
identity) against ring files Network Watcher would have written (uploaded with the account key, as its SAS
upload is); no function host is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import ContainerClient

from activities import clients, ring_ops
from activities.errors import outcome_activity
from core.harvest import HarvestRequest
from core.outcome import Outcome
from devstack.config import load_config
from devstack.product_testing import product_config
from devstack.schema import REPO_INFRA_DIR
from devstack.testing import AdminClient, DevstackState, run_devstack

pytestmark = pytest.mark.e2e
WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
ROLE_FILE = "capture-blob-harvester.json"


@pytest.fixture(scope="module")
def no_write_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevstackState, Path]]:
    state_dir = tmp_path_factory.mktemp("blob-rbac")
    infra = state_dir / "infra"
    shutil.copytree(REPO_INFRA_DIR, infra)
    role = json.loads((infra / "roles" / ROLE_FILE).read_text())
    role["dataActions"].remove(WRITE)
    (infra / "roles" / ROLE_FILE).write_text(json.dumps(role))
    config = product_config(state_dir / "devstack.toml")
    config.write_text(f'infra_dir = "{infra}"\n' + config.read_text())
    with run_devstack(state_dir, config_path=config, host=False, timeout=120) as state:
        yield state, config


def _pcap(when: datetime) -> bytes:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame = bytes(60)
    record = struct.pack("<IIII", int(when.timestamp()), when.microsecond, len(frame), len(frame))
    return header + record + frame


def _ring(state: DevstackState, config: Path) -> str:
    """Two ring files written with the account key (Network Watcher's way); returns the session's path."""
    account = next(a for a in load_config(config).storage_accounts if a.id.lower() ==
                   state.capture_storage_account_id.lower())
    ring = ContainerClient(state.blob_endpoint.rstrip("/"), "network-watcher-logs",
                           credential=AzureNamedKeyCredential(account.name, account.key),
                           connection_verify=state.ca_bundle)
    if not ring.exists():
        ring.create_container()
    prefix = f"rbac/{uuid.uuid4().hex[:8]}/packetcapture_ring"
    now = datetime.now(UTC)
    for index in (1, 2):
        ring.upload_blob(f"{prefix}_{index:05d}.cap", _pcap(now - timedelta(seconds=30 - index)))
    return f"{ring.url}/{prefix}"


def _harvest(state: DevstackState, path: str) -> Outcome:
    now = datetime.now(UTC)
    start, end = now - timedelta(minutes=5), now + timedelta(minutes=1)
    request = HarvestRequest(f"rbac-{uuid.uuid4().hex[:6]}", (path,), start.isoformat(), end.isoformat())
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**state.azure_env(), **state.app_settings}.items():
            patch.setenv(name, value)
        clients.reset()
        try:
            return Outcome.from_dict(outcome_activity(ring_ops.harvest)(request))
        finally:
            clients.reset()


def test_a_harvester_role_without_blob_write_fails_the_copy_with_an_authorization_error(no_write_stack):
    state, config = no_write_stack
    path = _ring(state, config)
    denied = _harvest(state, path)
    assert not denied.ok
    assert denied.error_code == "AuthorizationPermissionMismatch" and "HTTP 403" in denied.message, denied
    with AdminClient(state) as admin:  # the write back, through a built-in role at the same scope
        admin.add_role_assignment(state.principal_id, "Storage Blob Data Contributor",
                                  state.capture_storage_account_id)
    allowed = _harvest(state, path)
    assert allowed.ok and len(allowed.value["files"]) == 2, allowed
    assert os.path.basename(allowed.value["files"][0]["source"]).endswith("_00001.cap")
