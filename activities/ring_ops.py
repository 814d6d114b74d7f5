"""Continuous-capture calls for the sentry and the harvest: ensure one ring capture, sweep the others, prune
earlier sessions' files to the budget, and copy an incident's files server-side under the managed identity."""

from __future__ import annotations

import contextlib
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient

from activities import clients
from activities.storage import account_url
from core.arm_ids import parse_resource_id
from core.capture_files import folder_prefix, instance_of
from core.harvest import (
    INCIDENT_CONTAINER,
    PCAP_HEAD_BYTES,
    HarvestRequest,
    HarvestResult,
    IncidentFile,
    RingFileInfo,
    first_packet_time,
    incident_blob_name,
    same_instance,
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


def _container(storage_path: str, folder: bool = False) -> tuple[ContainerClient, str]:
    """The container client and the blob-name prefix of a capture's storagePath: a VM's ring files share it as
    a name prefix (a `.cap` suffix dropped); a scale set's storagePath is a folder (`folder`) of per-instance
    rings."""
    parsed = BlobClient.from_blob_url(storage_path)
    prefix = parsed.blob_name[:-4] if parsed.blob_name.lower().endswith(".cap") else parsed.blob_name
    service = clients.blob_service(account_url(parsed))
    return service.get_container_client(parsed.container_name), folder_prefix(prefix) if folder else prefix


def _ring_files(storage_path: str, with_first_packet: bool, folder: bool = False) -> list[RingFileInfo]:
    container, prefix = _container(storage_path, folder)
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
        instance = instance_of(blob.name, prefix) if folder else ""
        files.append(RingFileInfo(url, int(blob.size), blob.last_modified.isoformat(), first, instance))
    return files


def prune_rings(prune: RingPrune) -> Outcome:
    """Delete the oldest files of earlier sessions while all sessions together exceed the budget (per instance
    for a scale set; the running session's own ring is kept by Network Watcher and never trimmed here)."""
    deleted = []
    for path in prune.retired:
        container, _ = _container(path, prune.per_instance)
        for item in _ring_files(path, with_first_packet=False, folder=prune.per_instance):
            with contextlib.suppress(ResourceNotFoundError):
                container.delete_blob(item.url[len(container.url) + 1:])
            deleted.append(item.url)
    sessions = [(path, _ring_files(path, False, prune.per_instance)) for path in prune.storage_paths]
    totals: dict[str, int] = {}
    for _, files in sessions:
        for item in files:
            totals[item.instance] = totals.get(item.instance, 0) + item.size_bytes
    for path, files in sessions[:-1]:
        container, _ = _container(path, prune.per_instance)
        for item in sorted(files, key=lambda f: f.last_modified):
            if totals[item.instance] <= prune.budget_bytes:
                continue
            with contextlib.suppress(ResourceNotFoundError):
                container.delete_blob(item.url[len(container.url) + 1:])
            totals[item.instance] -= item.size_bytes
            deleted.append(item.url)
    return Outcome.success(deleted=deleted, total_bytes=sum(totals.values()))


def _copy(span_url: str, destination: Any, token: str) -> int:
    """A synchronous server-side copy (Copy Blob From URL), the source read with the identity's token."""
    destination.start_copy_from_url(span_url, requires_sync=True, source_authorization=f"Bearer {token}")
    return int(destination.get_blob_properties().size)


def _session_paths(request: HarvestRequest) -> list[str]:
    """The published sessions' storage paths, then those of the target's ring captures that exist now (a
    session started since the alert, e.g. a renewal inside the after-window), oldest first."""
    paths = list(request.storage_paths)
    if not (request.watcher_id and request.ring_prefix):
        return paths
    ops, group, watcher = _watcher_ops(request.watcher_id)
    current = [c for c in ops.list(group, watcher) if (c.name or "").startswith(request.ring_prefix)]
    for capture in sorted(current, key=lambda c: _generation(c.name or "")):
        path = getattr(capture.storage_location, "storage_path", "") or ""
        if path.startswith("https://") and path not in paths:
            paths.append(path)
    return paths


def _generation(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def harvest(request: HarvestRequest) -> Outcome:
    """Copy the ring files overlapping the window into `incidents/<run id>/` of the same account (for a scale
    set, only the alerted instances' files).

    Idempotent: a copy that already exists with the source's size is reported, not made again."""
    folder = bool(request.scale_set)
    paths = _session_paths(request)
    files: list[RingFileInfo] = []
    for path in paths:
        files.extend(f for f in _ring_files(path, with_first_packet=True, folder=folder)
                     if same_instance(f.instance, request.scale_set, request.instances))
    spans = select_files(files, request.start, request.end)
    copied: list[IncidentFile] = []
    if spans:
        ring, _ = _container(paths[-1])
        incidents = clients.blob_service(account_url(ring)).get_container_client(INCIDENT_CONTAINER)
        with contextlib.suppress(ResourceExistsError):
            incidents.create_container()
        token = clients.credential().get_token(STORAGE_SCOPE).token
        for span in spans:
            blob = incidents.get_blob_client(incident_blob_name(request.run_id, span.file))
            try:
                size = int(blob.get_blob_properties().size)
            except ResourceNotFoundError:
                size = -1
            if size != span.file.size_bytes:
                try:
                    size = _copy(span.file.url, blob, token)
                except ResourceNotFoundError:
                    continue  # the ring deleted the file before we got to it
            start, end = span_times(span)
            copied.append(IncidentFile(blob.url, span.file.url, size, start, end, span.file.instance))
    return Outcome.success(**HarvestResult(tuple(copied)).to_dict())
