"""A bounded burst of TCP traffic, and the sink that swallows it.

Run the sender inside a VM's network namespace, aimed at a sink in the root namespace on the veth's outer IP:

    ip netns exec alertcap-vm-demo .venv/bin/python -m devstack.demo.traffic --host 10.231.0.1 --port 40000

It opens `--connections` TCP connections one after another and writes `--messages` small messages on each with
Nagle's algorithm off, so every write leaves as its own segment. It stops by itself after the last message
or at `--deadline` seconds, whichever comes first, and prints one JSON line summarising what it sent.

`--listen` runs the sink instead (in the root namespace, on the veth's outer IP) for `--deadline` seconds:

    .venv/bin/python -m devstack.demo.traffic --listen --host 10.231.0.1 --port 40000 --deadline 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass, field

from devstack.paths import REPO_ROOT


@dataclass
class BurstResult:
    """What the sender did."""

    connections: int = 0
    messages: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def send_burst(host: str, port: int, connections: int, messages: int, message_bytes: int,
               deadline_seconds: float) -> BurstResult:
    """Open `connections` connections, write `messages` messages on each; blocking, bounded by a deadline."""
    result = BurstResult()
    started = time.monotonic()
    deadline = started + deadline_seconds
    for index in range(connections):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.errors.append("deadline reached")
            break
        try:
            _one_connection(host, port, index, messages, message_bytes, remaining, result)
        except OSError as exc:
            result.errors.append(f"connection {index}: {exc}")
            if len(result.errors) >= 3:
                break
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _one_connection(host: str, port: int, index: int, messages: int, message_bytes: int, timeout: float,
                    result: BurstResult) -> None:
    with socket.create_connection((host, port), timeout=min(timeout, 5.0)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        result.connections += 1
        for seq in range(messages):
            line = f"alertcap demo burst conn={index} seq={seq} ".encode()
            payload = line.ljust(message_bytes, b".")[: message_bytes - 1] + b"\n"
            sock.sendall(payload)
            result.messages += 1
            result.bytes_sent += len(payload)
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            sock.recv(1)  # wait for the sink's FIN so the connection closes cleanly


class TrafficSink:
    """An asyncio TCP server that reads and discards; counts connections and bytes."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host, self.port = host, port
        self.connections = 0
        self.bytes_received = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while chunk := await reader.read(65536):
                self.bytes_received += len(chunk)
        except OSError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def run_burst_in_namespace(netns: str, host: str, port: int, *, connections: int = 20,
                                 messages: int = 10, message_bytes: int = 64,
                                 deadline_seconds: float = 15.0) -> BurstResult:
    """Run the sender inside `netns` as a child process (its own process group, killed on cancel)."""
    argv = ["ip", "netns", "exec", netns, sys.executable, "-m", "devstack.demo.traffic",
            "--host", host, "--port", str(port), "--connections", str(connections),
            "--messages", str(messages), "--message-bytes", str(message_bytes),
            "--deadline", str(deadline_seconds)]
    python_path = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in python_path if p)}
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, env=env,
                                                start_new_session=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), deadline_seconds + 10)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"traffic sender in {netns} failed ({proc.returncode}): "
                           f"{err.decode(errors='replace').strip()[-400:]}")
    return BurstResult(**json.loads(out.decode().strip().splitlines()[-1]))


async def listen_for(host: str, port: int, seconds: float) -> dict[str, int]:
    """Run a sink for `seconds`; returns what it received."""
    sink = TrafficSink(host, port)
    await sink.start()
    print(json.dumps({"listening": f"{host}:{sink.port}", "seconds": seconds}), flush=True)
    try:
        await asyncio.sleep(seconds)
    finally:
        await sink.stop()
    return {"connections": sink.connections, "bytes_received": sink.bytes_received}


def main(argv: list[str] | None = None) -> int:
    """CLI entry: send one burst and print its JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m devstack.demo.traffic",
                                     description="Send a bounded burst of TCP segments to a sink.")
    parser.add_argument("--host", required=True, help="sink address (the veth's outer IP)")
    parser.add_argument("--listen", action="store_true", help="be the sink instead of the sender")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=20, help="TCP connections, one after another")
    parser.add_argument("--messages", type=int, default=10, help="messages (segments) per connection")
    parser.add_argument("--message-bytes", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=15.0, help="stop after this many seconds anyway")
    args = parser.parse_args(argv)
    for name in ("connections", "messages", "message_bytes"):
        if not 1 <= getattr(args, name) <= 10_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 10000")
    if not 0 < args.deadline <= 300:
        parser.error("--deadline must be between 0 and 300 seconds")
    if args.listen:
        with contextlib.suppress(KeyboardInterrupt):
            print(json.dumps(asyncio.run(listen_for(args.host, args.port, args.deadline))), flush=True)
        return 0
    result = send_burst(args.host, args.port, args.connections, args.messages, args.message_bytes,
                        args.deadline)
    print(json.dumps(asdict(result)), flush=True)
    return 0 if result.connections else 1


if __name__ == "__main__":
    raise SystemExit(main())
