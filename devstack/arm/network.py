"""Network resources as ARM shows them: the default network watcher of a region and packet captures.

Pure state and bodies; the rules that create and change them live in `models.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.arm.compute import Machine
from devstack.arm.validation import CaptureParameters
from devstack.capture import netns
from devstack.capture.agent import CaptureSession, CaptureSpec
from devstack.capture.ring import RingSettings
from devstack.common.persist import TRANSIENT

WATCHER_RG = "NetworkWatcherRG"
WATCHER_TYPE = "Microsoft.Network/networkWatchers"
CAPTURE_TYPE = "Microsoft.Network/networkWatchers/packetCaptures"
CAPTURE_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
CAPTURE_CONTAINER = "network-watcher-logs"
GROUP_TYPE = "Microsoft.Resources/resourceGroups"
RESOURCE_GROUP_RE = re.compile(r"^[A-Za-z0-9_\-.()]{1,90}$")


@dataclass(frozen=True)
class ResourceGroup:
    """A resource group as ARM shows it (created through a PUT, or implied by the resources it holds)."""

    subscription_id: str
    name: str
    location: str

    def body(self) -> dict[str, Any]:
        """The `ResourceGroup` body."""
        return {
            "id": f"/subscriptions/{self.subscription_id}/resourceGroups/{self.name}",
            "name": self.name,
            "type": GROUP_TYPE,
            "location": self.location,
            "properties": {"provisioningState": "Succeeded"},
        }


@dataclass(frozen=True)
class NetworkWatcher:
    """The default watcher of a region that has machines: `NetworkWatcher_<region>` in `NetworkWatcherRG`."""

    subscription_id: str
    location: str

    @property
    def name(self) -> str:
        """`NetworkWatcher_<region>`."""
        return f"NetworkWatcher_{self.location}"

    @property
    def id(self) -> str:
        """The watcher's ARM id."""
        rg = f"/subscriptions/{self.subscription_id}/resourceGroups/{WATCHER_RG}"
        return f"{rg}/providers/{WATCHER_TYPE}/{self.name}"

    def body(self) -> dict[str, Any]:
        """The `NetworkWatcher` body (as the live service returns it)."""
        return {
            "name": self.name,
            "id": self.id,
            "etag": _etag(self.id),
            "type": WATCHER_TYPE,
            "location": self.location,
            "tags": {},
            "properties": {"provisioningState": "Succeeded", "runningOperationIds": []},
        }


@dataclass
class PacketCapture:
    """A packet-capture resource and the agent session behind it."""

    id: str
    name: str
    watcher: NetworkWatcher
    params: CaptureParameters
    machine: Machine
    file_path: Path
    created: float
    provisioning_state: str = "Updating"
    etag: str = field(default_factory=lambda: f'W/"{uuid.uuid4()}"')
    session: CaptureSession | None = None
    provisioning: asyncio.Task | None = field(default=None, metadata=TRANSIENT)
    instances: list[str] = field(default_factory=list)  # a scale set's captured instance VM names

    @property
    def instance_files(self) -> list[str]:
        """A scale-set capture's blob URLs, one `<instance name>.cap` per instance under its folder."""
        folder = self.storage_path.rstrip("/")
        return [f"{folder}/{name}.cap" for name in self.instances] if folder else []

    @property
    def storage_path(self) -> str:
        """Where the pcap is uploaded ('' when the caller asked for a local file only)."""
        return self.params.storage_location.get("storagePath", "")

    @property
    def active(self) -> bool:
        """True while the capture is starting or running (it counts against the region limit)."""
        if self.session is None:
            return self.provisioning_state == "Updating"
        return self.session.status in ("NotStarted", "Running")

    def spec(self) -> CaptureSpec:
        """What the agent runs for this capture."""
        machine, params = self.machine, self.params
        spec = CaptureSpec(
            capture_id=self.id,
            interface=netns.INNER_INTERFACE if machine.netns else machine.interface,
            netns=machine.netns,
            snaplen=params.bytes_to_capture_per_packet,
            bpf=params.bpf,
            time_limit_s=params.time_limit_in_seconds or 18000,
            total_bytes=params.total_bytes_per_session,
            storage_path=self.storage_path,
            file_path=self.file_path,
        )
        if params.continuous and params.capture_settings is not None:
            settings = params.capture_settings  # the session limit replaces the one-shot limits
            spec = dataclasses.replace(
                spec, time_limit_s=settings["sessionTimeLimitInSeconds"], total_bytes=0,
                ring=RingSettings(settings["fileCount"], settings["fileSizeInBytes"]),
                ring_prefixes=self.ring_prefixes)
        return spec

    @property
    def ring_prefixes(self) -> tuple[str, ...]:
        """A continuous capture's blob-name prefixes: the storagePath for a VM; for a scale set, one folder
        per captured instance, `<storagePath>/<instance VM name>/` (empty: local files only)."""
        folder = self.storage_path.rstrip("/")
        if not folder:
            return ()
        return tuple(f"{folder}/{name}/" for name in self.instances) if self.instances else (folder,)

    def agent_stopped(self) -> None:
        """The devstack went down while this capture was starting or running. It comes back as Network
        Watcher shows a session whose agent was interrupted: `Error` with `AgentStopped`, no stop reason,
        the local file kept and nothing uploaded; a capture still being created gets provisioning `Failed`."""
        if self.session is None:
            self.session = CaptureSession(spec=self.spec())
            self.provisioning_state = "Failed"
        self.session.agent_stopped()

    def body(self) -> dict[str, Any]:
        """The `PacketCaptureResult` body."""
        return {
            "name": self.name,
            "id": self.id,
            "etag": self.etag,
            "properties": {"provisioningState": self.provisioning_state, **self.params.properties()},
            "type": CAPTURE_TYPE,
        }

    def status_body(self) -> dict[str, Any]:
        """The `PacketCaptureQueryStatusResult` body."""
        session = self.session
        body: dict[str, Any] = {"name": self.name, "id": self.id}
        if session is not None and session.start_datetime is not None:
            body["captureStartTime"] = session.start_datetime.isoformat().replace("+00:00", "Z")
        body["packetCaptureStatus"] = session.status if session is not None else "NotStarted"
        body["stopReason"] = session.stop_reason if session is not None else ""
        body["packetCaptureError"] = list(session.errors) if session is not None else []
        return body

    def summary(self) -> dict[str, Any]:
        """The admin API's view: target, status and where the pcap is."""
        status = self.status_body()
        return {
            "id": self.id,
            "name": self.name,
            "target": self.params.target,
            "targetType": self.params.target_type,
            "interface": self.session.spec.interface if self.session else None,
            "netns": self.machine.netns,
            "bpf": self.params.bpf,
            "continuous": self.params.continuous,
            "provisioningState": self.provisioning_state,
            "status": status["packetCaptureStatus"],
            "stopReason": status["stopReason"],
            "errors": status["packetCaptureError"],
            "captureStartTime": status.get("captureStartTime"),
            "blobUrl": self.storage_path or None,
            **({"instances": list(self.instances), "files": self.instance_files} if self.instances else {}),
            "uploaded": bool(self.session and self.session.uploaded),
            "localFile": str(self.file_path),
            "bytes": self.session.bytes_written if self.session else 0,
        }


def _etag(seed: str) -> str:
    return f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, seed.lower())}"'
