"""Continuous capture: cut tcpdump's pcap stream into a ring of files; keep at most `file_count` in storage.

tcpdump's own rotation (`-C`) counts in millions of bytes (or KiB with a suffix), so it cannot honour
Azure's `fileSizeInBytes` exactly; instead tcpdump writes the pcap to stdout (`-w -`) and `RingWriter` cuts it
at packet boundaries: a file is closed before the packet that would take it past `file_size` (a file always
holds at least one packet, so one packet larger than the limit gets a file of its own). Each closed file goes
to `RingStore`, which uploads files in order, deleting the oldest blob first when `file_count` are stored.
Local files are removed once uploaded, so the VM's disk holds at most the open file and the upload queue.

A ring has one blob-name prefix per captured machine: a VM's is its capture's `storagePath`; a scale set's
capture gives each captured instance its own ring under `<storagePath>/<instance VM name>/` (the devstack's
instances share one interface, so one tcpdump feeds every instance's ring with the same files).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.capture.pcap import GLOBAL_HEADER_LEN, MAGICS, RECORD_HEADER_LEN

log = logging.getLogger(__name__)

Uploader = Callable[[str, Path], Awaitable[Any] | Any]
Deleter = Callable[[str], Awaitable[Any] | Any]


@dataclass(frozen=True)
class RingSettings:
    """A continuous capture's `captureSettings` as the agent uses them."""

    file_count: int
    file_size: int


@dataclass
class RingFile:
    """One file of the ring: where it is, what it holds."""

    index: int
    path: Path
    blob_urls: tuple[str, ...]  # one per captured machine (a scale set's instances each have a ring)
    size: int = 0
    packets: int = 0
    first_packet: float | None = None  # packet time (seconds since the epoch)
    last_packet: float | None = None


def ring_blob_url(prefix: str, index: int) -> str:
    """The blob URL of file `index` (1-based) of the ring with blob-name `prefix`.

    The emulator's choice (Azure does not document it): for a VM,
    `<storagePath without .cap>_<index:05d>.cap`, so every file of a session shares the storagePath as a name
    prefix; for a scale-set instance (a prefix ending in `/`, the instance's folder)
    `<folder><index:05d>.cap`.
    """
    if prefix.endswith("/"):
        return f"{prefix}{index:05d}.cap"
    base = prefix[:-4] if prefix.lower().endswith(".cap") else prefix
    return f"{base}_{index:05d}.cap"


async def _call(function: Callable[..., Any], *args: Any) -> None:
    result = function(*args)
    if inspect.isawaitable(result):
        await result


@dataclass
class RingStore:
    """Uploads closed ring files in order; keeps at most `file_count` blobs by deleting the oldest."""

    file_count: int
    upload: Uploader | None
    delete: Deleter | None
    stored: deque[tuple[str, ...]] = field(default_factory=deque)
    failed: bool = False
    _queue: asyncio.Queue[RingFile | None] = field(default_factory=asyncio.Queue)
    _worker: asyncio.Task | None = None

    def put(self, ring_file: RingFile) -> None:
        """Queue a closed file for upload (a background task does the work)."""
        if self._worker is None:
            self._worker = asyncio.ensure_future(self._run())
        self._queue.put_nowait(ring_file)

    async def drain(self) -> None:
        """Wait until every queued file is uploaded (and the ring trimmed)."""
        if self._worker is None:
            return
        self._queue.put_nowait(None)
        await asyncio.shield(self._worker)
        self._worker = None

    def cancel(self) -> None:
        """Drop the queue (reset / shutdown without uploads)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    async def _run(self) -> None:
        while (ring_file := await self._queue.get()) is not None:
            await self._store(ring_file)

    async def _store(self, ring_file: RingFile) -> None:
        try:
            if self.upload is not None and ring_file.blob_urls:
                await self._make_room()
                for url in ring_file.blob_urls:
                    await _call(self.upload, url, ring_file.path)
                self.stored.append(ring_file.blob_urls)
        except Exception as exc:  # reported as StorageFailed by the agent; the ring keeps going
            log.warning("upload of ring file %s failed: %s", ring_file.blob_urls, exc)
            self.failed = True
        finally:
            with contextlib.suppress(OSError):
                ring_file.path.unlink()

    async def _make_room(self) -> None:
        """Delete the oldest blobs first, so storage never holds more than `file_count` files at once."""
        while len(self.stored) >= self.file_count:
            oldest = self.stored.popleft()
            delete = self.delete
            if delete is None:  # nothing to delete with: the oldest is only forgotten
                continue
            for url in oldest:
                await _call(delete, url)


class RingWriter:
    """Reads a pcap stream and writes it as numbered files of at most `file_size` bytes."""

    def __init__(self, directory: Path, prefixes: tuple[str, ...], settings: RingSettings,
                 on_closed: Callable[[RingFile], None]) -> None:
        self.directory = directory
        self.prefixes = prefixes  # blob-name prefixes, one per captured machine (none: local files only)
        self.settings = settings
        self.on_closed = on_closed
        self.header = b""
        self.endian = "<"
        self.nanos = False
        self.current: RingFile | None = None
        self.closed_files = 0
        self.bytes_total = 0  # every byte written, all files
        self._handle: Any = None

    async def pump(self, stream: asyncio.StreamReader) -> None:
        """Copy the stream into ring files until it ends; the last (partial) file stays open in `current`."""
        try:
            self.header = await stream.readexactly(GLOBAL_HEADER_LEN)
        except asyncio.IncompleteReadError:
            return
        self.endian = MAGICS.get(self.header[:4], "<")
        self.nanos = self.header[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        while True:
            try:
                record = await stream.readexactly(RECORD_HEADER_LEN)
                seconds, fraction, incl_len, _ = struct.unpack(self.endian + "IIII", record)
                data = await stream.readexactly(incl_len)
            except asyncio.IncompleteReadError:
                return
            self._write(record + data, seconds + fraction / (1e9 if self.nanos else 1e6))

    def _write(self, record: bytes, when: float) -> None:
        current = self.current
        if current is not None and current.packets and current.size + len(record) > self.settings.file_size:
            self._close()
            current = None
        if current is None:
            current = self._open()
        self._handle.write(record)
        self._handle.flush()
        current.size += len(record)
        current.packets += 1
        current.first_packet = when if current.first_packet is None else current.first_packet
        current.last_packet = when
        self.bytes_total += len(record)

    def _open(self) -> RingFile:
        index = self.closed_files + 1
        path = self.directory / f"ring-{index:05d}.cap"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("wb")
        self._handle.write(self.header)
        urls = tuple(ring_blob_url(prefix, index) for prefix in self.prefixes)
        self.current = RingFile(index, path, urls, size=len(self.header))
        self.bytes_total += len(self.header)
        return self.current

    def _close(self) -> RingFile | None:
        current, self.current = self.current, None
        if current is None:
            return None
        self._handle.close()
        self._handle = None
        self.closed_files += 1
        self.on_closed(current)
        return current

    def finish(self) -> RingFile | None:
        """Close the open file (it is handed to `on_closed` like any other); None when there is none."""
        return self._close()

    def discard(self) -> None:
        """Close the open file without handing it on (reset / shutdown)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.current = None
