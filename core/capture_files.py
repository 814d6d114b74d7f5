"""The files a capture wrote: one blob for a VM, a folder with one file per instance for a scale set.

Network Watcher reports one ``storageLocation.storagePath`` per capture. For a VM it is the ``.cap`` blob;
for a scale set it is a folder under which each captured instance gets its own file. :class:`CaptureFile`
is one of those files; :class:`DescribeRequest`/:class:`DescribedCapture` are the typed payloads of the
``describe_capture`` activity (the orchestrator and the activity both use ``to_dict``/``from_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CAPTURE_SUFFIX = ".cap"


@dataclass(frozen=True)
class CaptureFile:
    """One capture file: its blob URL, size, and the scale-set instance it holds ('' for a VM's capture)."""

    url: str
    size_bytes: int
    instance: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"url": self.url, "size_bytes": self.size_bytes, "instance": self.instance}

    @classmethod
    def from_dict(cls, data: Any) -> CaptureFile:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed entry."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise ValueError(f"not a capture file: {data!r}")
        size = data.get("size_bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"capture file size must be a non-negative integer: {size!r}")
        return cls(data["url"], size, str(data.get("instance") or ""))


def is_folder(storage_path: str, target_type: str) -> bool:
    """True when ``storage_path`` is a folder of per-instance files (a scale-set capture), not one blob."""
    return target_type.lower() == "azurevmss" and not storage_path.lower().endswith(CAPTURE_SUFFIX)


def folder_prefix(storage_path: str) -> str:
    """The folder URL with exactly one trailing ``/``: blobs under it are the capture's files."""
    return storage_path.rstrip("/") + "/"


def instance_of(blob_url: str, folder: str) -> str:
    """The instance a file under ``folder`` belongs to: the first segment of its path below the folder,
    without ``.cap`` (``<folder>/<instance>.cap`` for a one-shot capture, ``<folder>/<instance>/...`` for a
    continuous capture's per-instance ring)."""
    prefix = folder_prefix(folder)
    relative = blob_url[len(prefix):] if blob_url.startswith(prefix) else blob_url
    name = relative.split("?", 1)[0].split("/", 1)[0]
    return name[: -len(CAPTURE_SUFFIX)] if name.lower().endswith(CAPTURE_SUFFIX) else name


def total_size(files: list[CaptureFile]) -> int | None:
    """Sum of the files' sizes, or None when there is no file (yet)."""
    return sum(f.size_bytes for f in files) if files else None


@dataclass(frozen=True)
class DescribeRequest:
    """Input of ``describe_capture``: the capture, and how many per-instance files complete it (0 = any)."""

    capture_id: str
    expected_files: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"capture_id": self.capture_id, "expected_files": self.expected_files}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DescribeRequest:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["capture_id"]), int(data.get("expected_files") or 0))


@dataclass(frozen=True)
class DescribedCapture:
    """Output value of ``describe_capture``: the storage path and the files found so far.

    ``complete`` is True once the blob exists (VM) or the expected number of instance files exist (scale set).
    """

    storage_path: str
    files: list[CaptureFile] = field(default_factory=list)
    complete: bool = False

    @property
    def size_bytes(self) -> int | None:
        """Total size of the files, or None while none exists."""
        return total_size(self.files) if self.complete else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``size_bytes`` included for readers of the older single-blob shape)."""
        return {"storage_path": self.storage_path, "files": [f.to_dict() for f in self.files],
                "complete": self.complete, "size_bytes": self.size_bytes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DescribedCapture:
        """Inverse of :meth:`to_dict`."""
        files = [CaptureFile.from_dict(f) for f in data.get("files") or []]
        return cls(str(data.get("storage_path") or ""), files, bool(data.get("complete")))
