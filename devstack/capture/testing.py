"""Test helpers for the capture agent: a loopback listener, a one-shot sender, a spec builder, a loop wait."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.capture.agent import CaptureSpec


class Listener:
    """A TCP server on loopback that accepts and reads whatever comes."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()


def send(port: int, payload: bytes = b"x" * 200, host: str = "127.0.0.1") -> None:
    """One connection to `port` that sends `payload`."""
    with socket.create_connection((host, port), timeout=2) as conn:
        conn.sendall(payload)


def capture_spec(tmp_path: Path, name: str, bpf: str = "", time_limit: int = 600, total_bytes: int = 0,
                 **kw: Any) -> CaptureSpec:
    """A spec on loopback (or `interface`/`netns`) writing `<tmp_path>/<name>.cap`."""
    return CaptureSpec(
        capture_id=name,
        interface=kw.get("interface", "lo"),
        netns=kw.get("netns"),
        snaplen=kw.get("snaplen", 0),
        bpf=bpf,
        time_limit_s=time_limit,
        total_bytes=total_bytes,
        storage_path=kw.get("storage_path", f"https://blob.invalid/c/{name}.cap"),
        file_path=tmp_path / f"{name}.cap",
    )


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the loop until `predicate()` holds (callers bound it with wait_for)."""
    while not predicate():
        await asyncio.sleep(0.005)
