"""Network Watcher calls: find watchers, clean up and count captures, create, query, stop, describe."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.network.models import NetworkWatcher

from activities import clients
from activities.storage import blob_size, folder_files
from core.arm_ids import parse_resource_id
from core.capture_contract import (
    CaptureCreateRequest,
    CaptureRef,
    CaptureState,
    CreatedCapture,
    RegionRequest,
    RegionState,
    StopResult,
)
from core.capture_files import CaptureFile, DescribedCapture, DescribeRequest, is_folder
from core.naming import is_stale
from core.orchestration import CAPTURE_TERMINAL_STATES
from core.outcome import Outcome
from core.targets import AZURE_VMSS, Target
from core.watchers import (
    WATCHER_RESOURCE_GROUP,
    CreatedWatcher,
    WatcherInfo,
    WatcherList,
    WatcherListRequest,
    WatcherRequest,
    watcher_name,
)

MAX_DELETIONS_PER_RUN = 5  # cleanup is on the critical path: bound it, later runs delete the rest
log = logging.getLogger("alertcap.activities")


def list_watchers(request: WatcherListRequest) -> Outcome:
    """Every Network Watcher of the subscription with its region (never assume the name)."""
    listed = clients.network(request.subscription_id).network_watchers.list_all()
    watchers = tuple(WatcherInfo(w.id or "", w.name or "", (w.location or "").lower()) for w in listed)
    return Outcome.of(WatcherList(watchers))


def create_watcher(request: WatcherRequest) -> Outcome:
    """Create the region's watcher the way Azure does: ``NetworkWatcherRG`` (azure-mgmt-resource) when it
    does not exist, then ``NetworkWatcher_<region>`` in it. Both PUTs are idempotent, so a retry or a
    concurrent run creating the same watcher is harmless."""
    groups = clients.resources(request.subscription_id).resource_groups
    created_group = not groups.check_existence(WATCHER_RESOURCE_GROUP)
    if created_group:
        groups.create_or_update(WATCHER_RESOURCE_GROUP, {"location": request.region})
    name = watcher_name(request.region)
    watchers = clients.network(request.subscription_id).network_watchers
    try:
        existing = watchers.get(WATCHER_RESOURCE_GROUP, name)
    except ResourceNotFoundError:
        existing = None
    watcher = existing or watchers.create_or_update(WATCHER_RESOURCE_GROUP, name,
                                                    NetworkWatcher(location=request.region))
    log.info("network watcher %s in %s: group %s, watcher %s", name, request.region,
             "created" if created_group else "existed", "existed" if existing else "created")
    location = (watcher.location or request.region).lower()
    result = CreatedWatcher(watcher.id or "", watcher.name or name, location, created_group, existing is None)
    return Outcome.of(result)


def _capture_parts(capture_id: str) -> tuple[Any, str, str, str]:
    rid = parse_resource_id(capture_id)
    ops = clients.network(rid.subscription_id).packet_captures
    return ops, rid.resource_group, rid.names[0], rid.names[1]


def prepare_region(request: RegionRequest) -> Outcome:
    """Delete this app's finished captures older than the retention, then count the watcher's captures."""
    rid = parse_resource_id(request.watcher_id)
    ops = clients.network(rid.subscription_id).packet_captures
    now_dt = datetime.fromisoformat(request.now)
    names = [c.name or "" for c in ops.list(rid.resource_group, rid.name)]
    deleted: list[str] = []
    for name in names:
        if len(deleted) >= MAX_DELETIONS_PER_RUN or not is_stale(name, now_dt, request.retention_seconds):
            continue
        try:
            status = ops.begin_get_status(rid.resource_group, rid.name, name,
                                          polling_interval=clients.polling_interval()).result().as_dict()
            # wire strings (str() of the SDK's enum would be "PcStatus.STOPPED")
            if str(status.get("packetCaptureStatus", "")).lower() not in CAPTURE_TERMINAL_STATES:
                continue  # never delete a running capture
            ops.begin_delete(rid.resource_group, rid.name, name,
                             polling_interval=clients.polling_interval()).result()
            deleted.append(name)
        except ResourceNotFoundError:
            deleted.append(name)  # someone else removed it meanwhile
    return Outcome.of(RegionState(len(names) - len(deleted), tuple(deleted)))


def _existing_capture(ops: Any, group: str, watcher: str, name: str, target_id: str) -> Any | None:
    """The capture ``name`` when it exists (for ``target_id``), else None; a same-named capture of another
    target is a permanent conflict."""
    try:
        found = ops.get(group, watcher, name)
    except ResourceNotFoundError:
        return None
    existing_target = str(found.as_dict().get("properties", {}).get("target", ""))
    if existing_target.lower() != target_id.lower():
        raise CaptureNameTaken(name, existing_target)
    return found


class CaptureNameTaken(Exception):
    """A capture of this name exists for another target (not ours to reuse)."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(f"capture {name} already exists for another target ({target})")


def create_capture(request: CaptureCreateRequest) -> Outcome:
    """Create the capture only when absent: read it first (GET) and never re-PUT an existing name.

    A re-PUT of a capture that has already stopped starts a new session and a second blob in Azure, orphaning
    the first; so a retried activity, a replay after a crash or a parallel instance all find the capture by
    its name (which derives from the target and the window) and use it as it is.
    """
    rid = parse_resource_id(request.watcher_id)
    ops = clients.network(rid.subscription_id).packet_captures
    name, target = request.name, request.target
    try:
        result = _existing_capture(ops, rid.resource_group, rid.name, name, target.id)
    except CaptureNameTaken as exc:
        return Outcome.failure("CaptureNameTaken", str(exc))
    existed = result is not None
    if result is None:
        result = _put_capture(ops, rid.resource_group, rid.name, name, target, request.config)
    body = result.as_dict()
    props = body.get("properties", {})
    state = str(props.get("provisioningState", ""))
    if state.lower() == "failed":
        return Outcome.failure("CaptureProvisioningFailed", f"capture {name} provisioning failed")
    path = str(props.get("storageLocation", {}).get("storagePath", ""))
    created = CreatedCapture(str(body.get("id", "")), str(body.get("name", name)), state, path, existed)
    return Outcome.of(created)


def _put_capture(ops: Any, group: str, watcher: str, name: str, target: Target,
                 config: dict[str, Any]) -> Any:
    """PUT the capture and wait for its provisioning; a concurrent creator's capture is read back."""
    properties: dict[str, Any] = {
        "target": target.id,
        "targetType": target.target_type,
        "bytesToCapturePerPacket": config["bytes_per_packet"],
        "totalBytesPerSession": config["total_bytes"],
        "timeLimitInSeconds": config["time_limit_seconds"],
        "storageLocation": {"storageId": config["storage_account_id"]},
        "filters": config["filters"],
    }
    if target.target_type == AZURE_VMSS and target.scope_include:
        properties["scope"] = {"include": list(target.scope_include), "exclude": []}
    try:
        return ops.begin_create(group, watcher, name, {"properties": properties},
                                polling_interval=clients.polling_interval()).result()
    except HttpResponseError as exc:
        # Created meanwhile by a parallel instance: Azure documents no code for a duplicate name (409 in the
        # devstack), so on any conflict-like answer read the capture back.
        if not isinstance(exc, ResourceExistsError) and exc.status_code != 400:
            raise
        found = _existing_capture(ops, group, watcher, name, target.id)
        if found is None:
            raise
        return found


def query_capture(request: CaptureRef) -> Outcome:
    """The capture's status, stop reason and errors."""
    ops, group, watcher, name = _capture_parts(request.capture_id)
    status = ops.begin_get_status(group, watcher, name, polling_interval=clients.polling_interval()).result()
    body = status.as_dict()
    return Outcome.of(CaptureState(
        status=str(body.get("packetCaptureStatus", "Unknown")),
        stop_reason=str(body.get("stopReason") or ""),
        errors=tuple(str(e) for e in body.get("packetCaptureError") or []),
        start_time=str(body.get("captureStartTime") or ""),
    ))


def stop_capture(request: CaptureRef) -> Outcome:
    """Stop a capture that overran its limit; one that has already ended is left alone (``stopped`` False),
    so a repeated activity never acts twice."""
    ops, group, watcher, name = _capture_parts(request.capture_id)
    status = ops.begin_get_status(group, watcher, name, polling_interval=clients.polling_interval()).result()
    if str(status.as_dict().get("packetCaptureStatus", "")).lower() in CAPTURE_TERMINAL_STATES:
        return Outcome.of(StopResult(False))
    ops.begin_stop(group, watcher, name, polling_interval=clients.polling_interval()).result()
    return Outcome.of(StopResult(True))


def describe_capture(request: DescribeRequest) -> Outcome:
    """The capture's files: its ``.cap`` blob (VM), or every instance file under its folder (scale set).

    ``storageLocation.storagePath`` of a scale-set capture is a folder with one file per instance, so the
    files are listed under it; the result is complete once ``request.expected_files`` of them exist (any,
    when 0).
    """
    ops, group, watcher, name = _capture_parts(request.capture_id)
    props = ops.get(group, watcher, name).as_dict().get("properties", {})
    path = props.get("storageLocation", {}).get("storagePath", "") or ""
    if not path:
        return Outcome.of(DescribedCapture(path))
    if is_folder(path, str(props.get("targetType", ""))):
        files = folder_files(path)
        complete = bool(files) and len(files) >= request.expected_files
        return Outcome.of(DescribedCapture(path, files, complete))
    size = blob_size(path)
    files = [] if size is None else [CaptureFile(path, size)]
    return Outcome.of(DescribedCapture(path, files, size is not None))
