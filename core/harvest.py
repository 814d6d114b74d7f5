"""Harvest: which ring files an incident needs, chosen by their time span (never by assumed names).

A ring file's span starts at its first packet (read from the pcap's first record) and ends when the file was
last written (the blob's last-modified time): files are written in order, so where the first packet cannot be
read, the previous file's end (on the same machine) is used. A file belongs to an incident when its span
overlaps `[fired - lookback, fired + after]`.

A scale set's ring is a folder with one ring per instance: the first path segment below the folder names the
instance (as for a one-shot scale-set capture, `core.capture_files.instance_of`), and an alert for some
instances harvests only theirs.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from core.arm_ids import instance_id_from_name
from core.errors import InvalidRequest

INCIDENT_CONTAINER = "incidents"
HARVEST_EVENT_NAME = "harvest"
_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),
                b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9)}
PCAP_HEAD_BYTES = 40  # global header (24) + the first record header (16)


def first_packet_time(head: bytes) -> datetime | None:
    """The first packet's time from a classic pcap's first 40 bytes; None otherwise (pcapng, empty)."""
    if len(head) < PCAP_HEAD_BYTES or head[:4] not in _PCAP_MAGICS:
        return None
    endian, per_second = _PCAP_MAGICS[head[:4]]
    seconds, fraction = struct.unpack(endian + "II", head[24:32])
    return datetime.fromtimestamp(seconds + fraction / per_second, UTC)


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class RingFileInfo:
    """One ring file as listed in storage."""

    url: str
    size_bytes: int
    last_modified: str  # ISO
    first_packet: str = ""  # ISO, '' when unknown
    instance: str = ""  # the scale-set instance whose ring holds it ('' for a VM's ring)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def same_instance(instance: str, scale_set: str, wanted: tuple[str, ...]) -> bool:
    """True when a ring file of `instance` belongs to an alert naming `wanted` instances (ids such as "3" or
    instance VM names such as "vmss-web_3"; empty: every instance)."""
    if not wanted:
        return True
    keys = {instance_id_from_name(scale_set, name).lower() for name in wanted}
    return instance_id_from_name(scale_set, instance).lower() in keys


@dataclass(frozen=True)
class FileSpan:
    """A ring file with the time span it covers."""

    file: RingFileInfo
    start: datetime | None  # None: unknown (the oldest file without a readable first packet)
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True when the span meets [start, end]."""
        return self.end >= start and (self.start is None or self.start <= end)


def file_spans(files: list[RingFileInfo]) -> list[FileSpan]:
    """Each file's span, oldest first (a file's unknown start is the previous end on the same machine)."""
    ordered = sorted(files, key=lambda f: (f.last_modified, f.url))
    spans: list[FileSpan] = []
    previous_end: dict[str, datetime] = {}
    for item in ordered:
        end = datetime.fromisoformat(item.last_modified)
        start = _time(item.first_packet) or previous_end.get(item.instance)
        spans.append(FileSpan(item, start, end))
        previous_end[item.instance] = end
    return spans


def select_files(files: list[RingFileInfo], start: datetime, end: datetime) -> list[FileSpan]:
    """The files whose spans overlap [start, end], oldest first."""
    return [span for span in file_spans(files) if span.overlaps(start, end)]


@dataclass(frozen=True)
class HarvestRequest:
    """Activity input: copy the ring files overlapping the window into `incidents/<run id>/`.

    `storage_paths` are the sessions the sentry had published at the alert; with `watcher_id` and
    `ring_prefix` the activity also reads the storage paths of the target's ring captures that exist now, so a
    session the sentry started after the alert (a renewal inside the after-window) is harvested too.
    `scale_set` (its name) marks a scale set's per-instance rings; `instances` narrows them to the alerted
    instances (empty: all).
    """

    run_id: str
    storage_paths: tuple[str, ...]
    window_start: str
    window_end: str
    watcher_id: str = ""
    ring_prefix: str = ""
    scale_set: str = ""
    instances: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"run_id": self.run_id, "storage_paths": list(self.storage_paths),
                "window_start": self.window_start, "window_end": self.window_end,
                "watcher_id": self.watcher_id, "ring_prefix": self.ring_prefix, "scale_set": self.scale_set,
                "instances": list(self.instances)}

    @classmethod
    def from_dict(cls, data: Any) -> HarvestRequest:
        """Validate and decode."""
        if not isinstance(data, dict):
            raise InvalidRequest("harvest", "must be an object")
        paths = data.get("storage_paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("https://")
                                                  for p in paths):
            raise InvalidRequest("harvest.storage_paths", "must be a list of https URLs")
        instances = data.get("instances") or []
        if not isinstance(instances, list) or not all(isinstance(i, str) for i in instances):
            raise InvalidRequest("harvest.instances", "must be a list of instance names")
        return cls(str(data["run_id"]), tuple(paths), str(data["window_start"]), str(data["window_end"]),
                   str(data.get("watcher_id") or ""), str(data.get("ring_prefix") or ""),
                   str(data.get("scale_set") or ""), tuple(instances))

    @property
    def start(self) -> datetime:
        """The window's start."""
        return datetime.fromisoformat(self.window_start)

    @property
    def end(self) -> datetime:
        """The window's end."""
        return datetime.fromisoformat(self.window_end)


@dataclass(frozen=True)
class IncidentFile:
    """A harvested copy: where it is now, where it came from, what time it covers (and, for a scale set, which
    instance it holds)."""

    url: str
    source: str
    size_bytes: int
    start: str  # ISO or ''
    end: str  # ISO
    instance: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncidentFile:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["url"]), str(data["source"]), int(data["size_bytes"]), str(data.get("start", "")),
                   str(data["end"]), str(data.get("instance") or ""))


@dataclass(frozen=True)
class HarvestResult:
    """Activity output: the incident's files so far (copies already made are reported again, not redone)."""

    files: tuple[IncidentFile, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"files": [f.to_dict() for f in self.files]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HarvestResult:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(IncidentFile.from_dict(f) for f in data.get("files") or []))

    def merged(self, later: HarvestResult) -> HarvestResult:
        """The copies of both passes (a copy made earlier stays even when its source is gone now), ordered by
        their end; a copy both report is taken from `later`."""
        by_url = {f.url: f for f in self.files} | {f.url: f for f in later.files}
        return HarvestResult(tuple(sorted(by_url.values(), key=lambda f: (f.end, f.url))))

    def covered(self) -> tuple[datetime | None, datetime | None]:
        """Earliest start and latest end over the files (None when unknown or no files)."""
        starts = [datetime.fromisoformat(f.start) for f in self.files if f.start]
        ends = [datetime.fromisoformat(f.end) for f in self.files]
        return (min(starts) if starts else None), (max(ends) if ends else None)


def incident_blob_name(run_id: str, source: RingFileInfo) -> str:
    """`<run id>/[<instance>/]<8 hex>-<source file name>` in the incidents container: unique per source (two
    sessions' files may share a name) and the same on every retry, so a retried harvest finds its copy."""
    tag = hashlib.sha256(source.url.encode()).hexdigest()[:8]
    name = source.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    folder = f"{run_id}/{source.instance}" if source.instance else run_id
    return f"{folder}/{tag}-{name}"


def span_times(span: FileSpan) -> tuple[str, str]:
    """(start, end) of a span as ISO strings."""
    return _iso(span.start), _iso(span.end)
