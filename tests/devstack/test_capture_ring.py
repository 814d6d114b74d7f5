"""Continuous capture in the agent: a real tcpdump whose pcap stream is cut into a ring of files."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
from pathlib import Path

import dpkt
import pytest

from devstack.capture.agent import CaptureAgent
from devstack.capture.ring import RingFile, RingSettings, RingStore, ring_blob_url
from devstack.capture.testing import Listener, send, until
from devstack.capture.testing import capture_spec as spec
from devstack.common.clock import Clock

FILE_SIZE = 2000
FILE_COUNT = 3


class FakeStorage:
    """Records uploads and deletions in order (the agent's storage callbacks; Azurite: test_arm_...)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.uploaded: list[str] = []
        self.deleted: list[str] = []

    def upload(self, url: str, path: Path) -> None:
        self.blobs[url] = path.read_bytes()
        self.uploaded.append(url)

    def delete(self, url: str) -> None:
        self.blobs.pop(url, None)
        self.deleted.append(url)


def packets(data: bytes) -> list[tuple[float, bytes]]:
    return list(dpkt.pcap.Reader(io.BytesIO(data)))


@pytest.fixture
async def ring_agent(tmp_path):
    storage = FakeStorage()
    agent = CaptureAgent(Clock(manual=True, start=1_700_000_000), storage.upload, delete=storage.delete)
    agent.storage = storage
    yield agent
    await agent.close()


def ring_spec(tmp_path: Path, name: str, bpf: str, **kw) -> object:
    base = spec(tmp_path, name, bpf, storage_path=f"https://blob.invalid/c/{name}", **kw)
    return dataclasses.replace(base, total_bytes=0, ring=RingSettings(FILE_COUNT, FILE_SIZE))


def test_ring_blob_names_share_the_storage_path_as_prefix():
    assert ring_blob_url("https://a/c/x/packetcapture_1", 7) == "https://a/c/x/packetcapture_1_00007.cap"
    assert ring_blob_url("https://a/c/ring.cap", 1) == "https://a/c/ring_00001.cap"
    assert ring_blob_url("https://a/c/x/packetcapture_1/vmss_3/", 2) == "https://a/c/x/packetcapture_1/vmss_3/00002.cap"


async def test_a_scale_set_ring_stores_every_file_once_per_instance_and_trims_each(tmp_path):
    storage = FakeStorage()
    store = RingStore(2, storage.upload, storage.delete)
    for index in (1, 2, 3):
        path = tmp_path / f"ring-{index}.cap"
        path.write_bytes(b"pcap %d" % index)
        store.put(RingFile(index, path, (f"https://a/c/f/i0/{index:05d}.cap", f"https://a/c/f/i3/{index:05d}.cap")))
    await store.drain()
    assert sorted(storage.blobs) == ["https://a/c/f/i0/00002.cap", "https://a/c/f/i0/00003.cap",
                                     "https://a/c/f/i3/00002.cap", "https://a/c/f/i3/00003.cap"]
    assert storage.deleted == ["https://a/c/f/i0/00001.cap", "https://a/c/f/i3/00001.cap"]
    assert storage.blobs["https://a/c/f/i3/00003.cap"] == b"pcap 3"


async def test_ring_rotates_by_bytes_uploads_closed_files_and_keeps_file_count(ring_agent, tmp_path):
    listener = Listener()
    storage = ring_agent.storage
    try:
        session = await ring_agent.start(ring_spec(tmp_path, "ring", f"tcp port {listener.port}"))
        assert session.status == "Running", session.stderr_tail
        deadline = asyncio.get_running_loop().time() + 20
        while len(storage.uploaded) < FILE_COUNT + 2:  # a connection is ~1 kB: a file closes every few
            assert asyncio.get_running_loop().time() < deadline, f"{len(storage.uploaded)} files after 20 s"
            await asyncio.to_thread(send, listener.port, b"r" * 400)
        assert session.status == "Running"  # rotating is not stopping
        await ring_agent.stop(session)
    finally:
        listener.close()
    assert (session.status, session.errors) == ("Stopped", [])
    # uploaded in order, oldest deleted beyond the count, the stop uploaded the partial file
    numbers = [int(url.rsplit("_", 1)[1][:5]) for url in storage.uploaded]
    assert numbers == list(range(1, len(numbers) + 1))
    assert storage.deleted == storage.uploaded[: len(storage.uploaded) - FILE_COUNT]
    assert list(storage.blobs) == storage.uploaded[-FILE_COUNT:]
    times = []
    for data in storage.blobs.values():
        assert len(data) <= FILE_SIZE and data[:4] == bytes.fromhex("d4c3b2a1")
        found = packets(data)
        assert found, "every ring file holds at least one packet"
        times.append((found[0][0], found[-1][0]))
    assert times == sorted(times) and all(a[1] <= b[0] for a, b in itertools.pairwise(times))
    assert session.bytes_written >= sum(len(d) for d in storage.blobs.values())
    assert not any(session.spec.file_path.with_suffix("").glob("*.cap")), "uploaded files are removed"


async def test_session_limit_stops_a_ring_and_uploads_its_last_file(ring_agent, tmp_path):
    listener = Listener()
    try:
        session = await ring_agent.start(ring_spec(tmp_path, "timed", f"tcp port {listener.port}",
                                                   time_limit=60))
        await asyncio.to_thread(send, listener.port, b"t" * 100)
        await asyncio.wait_for(until(lambda: session.ring.bytes_total > 24), 5)
        ring_agent.clock.advance(60)
        await asyncio.wait_for(session.finished.wait(), 5)
    finally:
        listener.close()
    assert (session.status, session.stop_reason) == ("Stopped", "TimeExceeded")
    assert ring_agent.storage.uploaded == ["https://blob.invalid/c/timed_00001.cap"]
    stored = ring_agent.storage.blobs[ring_agent.storage.uploaded[0]]
    assert any(len(frame) > 100 for _, frame in packets(stored))


async def test_close_discards_the_open_ring_file_and_leaves_no_tcpdump(tmp_path):
    storage = FakeStorage()
    agent = CaptureAgent(Clock(), storage.upload, delete=storage.delete)
    listener = Listener()
    try:
        session = await agent.start(ring_spec(tmp_path, "closing", f"tcp port {listener.port}"))
        await asyncio.to_thread(send, listener.port, b"c" * 100)
        await asyncio.wait_for(until(lambda: session.ring.bytes_total > 24), 5)
    finally:
        listener.close()
        await agent.close()
    assert session.process.returncode is not None and storage.uploaded == []
