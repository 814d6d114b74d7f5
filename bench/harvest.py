"""Harvest of a 15-minute lookback on the devstack: how long copying the ring's files into incidents/ takes.

Starts a devstack without the function host, writes a ring the way a 15-minute sentry sizes it (16 files, one
per minute of traffic, each a valid pcap whose first packet carries the minute it covers) into Azurite, then
calls the product's harvest activity code (`activities.ring_ops.harvest`: real SDK, managed identity,
Copy Blob From URL) for `[now - 15 min, now + 60 s]`, several times. Calibration in the same run: uploading
the same bytes once from the client (what a client-side copy would at least cost) and a local sha256 of them.
Target: a harvest under 5 s. Run: `.venv/bin/python bench/harvest.py [--file-mib 4] [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import struct
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout importable

from devstack.testing import loopback_config, run_devstack

FILES = 16
LOOKBACK = timedelta(minutes=15)


def pcap_bytes(first_packet: datetime, size: int) -> bytes:
    """A classic pcap of about `size` bytes whose packets start at `first_packet`."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame = bytes(1400)
    record = struct.pack("<IIII", int(first_packet.timestamp()), 0, len(frame), len(frame)) + frame
    return header + record * max(1, (size - len(header)) // len(record))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-mib", type=float, default=4.0, help="size of each ring file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = int(args.file_mib * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="bench-harvest-") as tmp:
        config = loopback_config(Path(tmp) / "devstack.toml")
        with run_devstack(Path(tmp) / "state", config_path=config, host=False, timeout=120) as state:
            os.environ.update({**state.azure_env(), **state.app_settings})
            from azure.storage.blob import ContainerClient

            from activities import clients, ring_ops
            from core.harvest import HarvestRequest

            clients.reset()
            credential = clients.credential()
            ring = ContainerClient(state.blob_endpoint.rstrip("/"), "network-watcher-logs",
                                   credential=credential)
            ring.create_container()
            now = datetime.now(UTC)
            prefix = f"bench/{uuid.uuid4().hex[:8]}/packetcapture_ring"
            payloads = [pcap_bytes(now - LOOKBACK + timedelta(minutes=i), size) for i in range(FILES)]
            for index, data in enumerate(payloads, 1):
                ring.upload_blob(f"{prefix}_{index:05d}.cap", data)
            storage_path = f"{ring.url}/{prefix}"
            timings = []
            for round_ in range(args.rounds):
                request = HarvestRequest(f"bench-{round_}-{uuid.uuid4().hex[:6]}", (storage_path,),
                                         (now - LOOKBACK).isoformat(),
                                         (now + timedelta(seconds=60)).isoformat())
                started = time.perf_counter()
                outcome = ring_ops.harvest(request)
                timings.append(time.perf_counter() - started)
                copied = outcome.value["files"]
                assert len(copied) == FILES, f"harvested {len(copied)} of {FILES} files"
            started = time.perf_counter()
            ring.upload_blob(f"{prefix}-calibration.bin", b"".join(payloads))
            upload = time.perf_counter() - started
            started = time.perf_counter()
            hashlib.sha256(b"".join(payloads)).hexdigest()
            sha = time.perf_counter() - started
    total = FILES * size
    median = statistics.median(timings)
    print(f"ring: {FILES} files x {size / 2**20:.1f} MiB = {total / 2**20:.0f} MiB, lookback 15 min")
    print(f"harvest (server-side copies): median {median:.2f} s, all {[round(t, 2) for t in timings]} "
          f"({total / 2**20 / median:.0f} MiB/s)")
    print(f"calibration: client upload of the same bytes {upload:.2f} s; local sha256 {sha:.3f} s")
    print(f"ratio harvest / client upload: {median / upload:.2f}; target harvest < 5 s: "
          f"{'met' if median < 5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
