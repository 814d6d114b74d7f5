"""Continuous-capture calls for the sentry and the harvest: ensure one ring capture, sweep the others, prune
earlier sessions' files to the budget, and copy an incident's files server-side under the managed identity."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient

from activities import clients
from activities.storage import account_url
from core.arm_ids import parse_resource_id
from core.harvest import (
    INCIDENT_CONTAINER,
    PCAP_HEAD_BYTES,
    HarvestRequest,
    HarvestResult,
    IncidentFile,
    RingFileInfo,
    first_packet_time,
    select_files,
    span_times,
)
from core.orchestration import CAPTURE_TERMINAL_STATES
from core.outcome import Outcome
from core.sentry import RingPlan, RingPrune, RingSweep

STORAGE_SCOPE = "https://storage.azure.com/.default"


def _watcher_ops(watcher_id: str) -> tuple[Any, str, str]:
    rid = parse_resource_id(watcher_id)
    return clients.network(rid.subscription_id).packet_captures, rid.resource_group, rid.name


def _status(ops: Any, group: str, watcher: str, name: str) -> str:
    result = ops.begin_get_status(group, watcher, name, polling_interval=clients.polling_interval()).result()
    return str(result.as_dict().get("packetCaptureStatus", "Unknown"))


def _ring_outcome(body: dict[str, Any], status: str, existed: bool) -> Outcome:
    props = body.get("properties", {})
    return Outcome.success(id=body.get("id", ""), name=body.get("name", ""), status=status, existed=existed,
                           storage_path=props.get("storageLocation", {}).get("storagePath", "") or "")


def ensure_ring(plan: RingPlan) -> Outcome:
    """The running continuous capture named `plan.name`: read back when it already runs (a retried or replayed
    call), otherwise (re)created. Never a second session under the same name."""
    ops, group, watcher = _watcher_ops(plan.watcher_id)
    try:
        existing = ops.get(group, watcher, plan.name)
    except ResourceNotFoundError:
        existing = None
    if existing is not None:
        status = _status(ops, group, watcher, plan.name)
        if status.lower() not in CAPTURE_TERMINAL_STATES:
            return _ring_outcome(existing.as_dict(), status, existed=True)
        ops.begin_delete(group, watcher, plan.name, polling_interval=clients.polling_interval()).result()
    properties = {
        "target": plan.target.id,
        "targetType": plan.target.target_type,
        "bytesToCapturePerPacket": plan.bytes_per_packet,
        "storageLocation": {"storageId": plan.storage_account_id},
        "filters": plan.filters,
        "continuousCapture": True,
        "captureSettings": plan.sizing.capture_settings(),
    }
    try:
        result = ops.begin_create(group, watcher, plan.name, {"properties": properties},
                                  polling_interval=clients.polling_interval()).result()
    except ResourceExistsError:  # a concurrent attempt created it first: read it back
        result = ops.get(group, watcher, plan.name)
    body = result.as_dict()
    if str(body.get("properties", {}).get("provisioningState", "")).lower() == "failed":
        return Outcome.failure("CaptureProvisioningFailed", f"continuous capture {plan.name} failed to start")
    return _ring_outcome(body, _status(ops, group, watcher, plan.name), existed=False)


def sweep_rings(sweep: RingSweep) -> Outcome:
    """Stop and delete every ring capture of the target except `sweep.keep` (their files stay in storage)."""
    ops, group, watcher = _watcher_ops(sweep.watcher_id)
    removed = []
    for capture in ops.list(group, watcher):
        name = capture.name or ""
        if not name.startswith(sweep.name_prefix) or name == sweep.keep:
            continue
        try:
            ops.begin_stop(group, watcher, name, polling_interval=clients.polling_interval()).result()
            ops.begin_delete(group, watcher, name, polling_interval=clients.polling_interval()).result()
        except ResourceNotFoundError:
            pass  # gone meanwhile: that is what we wanted
        removed.append(name)
    return Outcome.success(removed=removed)


def _container(storage_path: str) -> tuple[ContainerClient, str]:
    """The container client and the blob-name prefix of a capture's storagePath (a `.cap` suffix dropped)."""
    parsed = BlobClient.from_blob_url(storage_path)
    prefix = parsed.blob_name[:-4] if parsed.blob_name.lower().endswith(".cap") else parsed.blob_name
    service = clients.blob_service(account_url(parsed))
    return service.get_container_client(parsed.container_name), prefix


def _ring_files(storage_path: str, with_first_packet: bool) -> list[RingFileInfo]:
    container, prefix = _container(storage_path)
    try:
        blobs = list(container.list_blobs(name_starts_with=prefix))
    except ResourceNotFoundError:
        return []  # the container appears with the first file
    files = []
    for blob in blobs:
        url = f"{container.url}/{blob.name}"
        first = ""
        if with_first_packet:
            try:
                head = container.download_blob(blob.name, offset=0, length=PCAP_HEAD_BYTES).readall()
            except ResourceNotFoundError:
                continue  # the ring deleted it meanwhile
            moment = first_packet_time(head)
            first = moment.isoformat() if moment else ""
        files.append(RingFileInfo(url, int(blob.size), blob.last_modified.isoformat(), first))
    return files


def prune_rings(prune: RingPrune) -> Outcome:
    """Delete the oldest files of earlier sessions while all sessions together exceed the budget (the running
    session's own ring is kept by Network Watcher; its files are never deleted here)."""
    deleted = []
    for path in prune.retired:
        container, _ = _container(path)
        for item in _ring_files(path, with_first_packet=False):
            with contextlib.suppress(ResourceNotFoundError):
                container.delete_blob(item.url[len(container.url) + 1:])
            deleted.append(item.url)
    sessions = [(path, _ring_files(path, with_first_packet=False)) for path in prune.storage_paths]
    total = sum(f.size_bytes for _, files in sessions for f in files)
    for path, files in sessions[:-1]:
        container, _ = _container(path)
        for item in sorted(files, key=lambda f: f.last_modified):
            if total <= prune.budget_bytes:
                break
            with contextlib.suppress(ResourceNotFoundError):
                container.delete_blob(item.url[len(container.url) + 1:])
            total -= item.size_bytes
            deleted.append(item.url)
    return Outcome.success(deleted=deleted, total_bytes=total)


def _copy(span_url: str, destination: Any, token: str) -> int:
    """A synchronous server-side copy (Copy Blob From URL), the source read with the identity's token."""
    destination.start_copy_from_url(span_url, requires_sync=True, source_authorization=f"Bearer {token}")
    return int(destination.get_blob_properties().size)


def harvest(request: HarvestRequest) -> Outcome:
    """Copy the ring files overlapping the window into `incidents/<run id>/` of the same account.

    Idempotent: a copy that already exists with the source's size is reported, not made again."""
    files: list[RingFileInfo] = []
    for path in request.storage_paths:
        files.extend(_ring_files(path, with_first_packet=True))
    spans = select_files(files, request.start, request.end)
    copied: list[IncidentFile] = []
    if spans:
        ring, _ = _container(request.storage_paths[-1])
        incidents = clients.blob_service(account_url(ring)).get_container_client(INCIDENT_CONTAINER)
        with contextlib.suppress(ResourceExistsError):
            incidents.create_container()
        token = clients.credential().get_token(STORAGE_SCOPE).token
        for span in spans:
            source = span.file.url
            tag = hashlib.sha256(source.encode()).hexdigest()[:8]  # unique per source, same on retries
            name = f"{request.run_id}/{tag}-{source.rsplit('/', 1)[-1]}"
            blob = incidents.get_blob_client(name)
            try:
                size = int(blob.get_blob_properties().size)
            except ResourceNotFoundError:
                size = -1
            if size != span.file.size_bytes:
                try:
                    size = _copy(source, blob, token)
                except ResourceNotFoundError:
                    continue  # the ring deleted the file before we got to it
            start, end = span_times(span)
            copied.append(IncidentFile(blob.url, source, size, start, end))
    return Outcome.success(**HarvestResult(tuple(copied)).to_dict())
