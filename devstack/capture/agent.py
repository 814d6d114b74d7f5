"""The capture agent: one real tcpdump per packet capture, stopped by time, size, a stop call or failure.

Lifecycle of a `CaptureSession` (what queryStatus reports):
`NotStarted` -> `Running` (tcpdump printed "listening on") -> `Stopped` (pcap uploaded; `stop_reason` set)
(a continuous capture, `spec.ring`, stays `Running` while `devstack.capture.ring` rotates its files)
or `Error` (`errors` holds Network Watcher codes: `CaptureFailed` when tcpdump cannot start or dies,
`AgentStopped` when it is killed by a signal we did not send, `StorageFailed` when the upload fails).

Time limits follow the injected clock (which may run faster than real time or be advanced by hand): one
supervisor task looks at every running session a few times a second and stops those whose deadline passed or
whose file reached `totalBytesPerSession`. tcpdump runs with `-U` (flush per packet) in its own process group;
stopping sends SIGINT, which makes it flush and close the file, and waits for it to exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from devstack.capture.pcap import trim_to_limit
from devstack.capture.ring import Deleter, RingSettings, RingStore, RingWriter
from devstack.common.persist import TRANSIENT
from devstack.common.process import die_with_parent

log = logging.getLogger(__name__)

STOP_MANUAL = "Manual"
STOP_TIME = "TimeExceeded"
STOP_SIZE = "SizeExceeded"  # assumption: Azure's value for the byte limit is not documented
STOP_DELETED = "Deleted"
START_TIMEOUT_S = 10.0
EXIT_TIMEOUT_S = 5.0
TICK_S = 0.05


class Clock(Protocol):
    """What the agent needs from the devstack clock."""

    def now(self) -> float:
        """Emulated seconds since the epoch."""
        ...


Uploader = Callable[[str, Path], Awaitable[Any] | Any]


@dataclass(frozen=True)
class CaptureSpec:
    """Everything the agent needs to run one capture."""

    capture_id: str
    interface: str
    netns: str | None
    snaplen: int
    bpf: str
    time_limit_s: int
    total_bytes: int
    storage_path: str
    file_path: Path
    ring: RingSettings | None = None  # a continuous capture: tcpdump writes to stdout, RingWriter splits it
    ring_prefixes: tuple[str, ...] = ()  # the ring's blob-name prefixes (default: storage_path's own ring)

    def argv(self) -> list[str]:
        """The tcpdump command line (wrapped in `ip netns exec` when the VM is a namespace)."""
        argv = ["tcpdump", "--immediate-mode", "-U", "-n", "-Z", "root", "-i", self.interface]
        if self.snaplen > 0:
            argv += ["-s", str(self.snaplen)]
        argv += ["-w", "-" if self.ring else str(self.file_path)]
        if self.bpf:
            argv.append(self.bpf)
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv


@dataclass
class CaptureSession:
    """One capture's runtime state."""

    spec: CaptureSpec
    status: str = "NotStarted"
    stop_reason: str = ""
    errors: list[str] = field(default_factory=list)
    start_time: float | None = None  # emulated epoch seconds, from the clock
    uploaded: bool = False
    bytes_written: int = 0
    stderr_tail: list[str] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = field(default=None, metadata=TRANSIENT)
    finished: asyncio.Event = field(default_factory=asyncio.Event, metadata=TRANSIENT)
    ring: RingWriter | None = field(default=None, metadata=TRANSIENT)
    ring_store: RingStore | None = field(default=None, metadata=TRANSIENT)
    _pump: asyncio.Task | None = field(default=None, metadata=TRANSIENT)
    _stopping: asyncio.Task | None = field(default=None, metadata=TRANSIENT)

    @property
    def start_datetime(self) -> datetime | None:
        """`start_time` as an aware UTC datetime."""
        return None if self.start_time is None else datetime.fromtimestamp(self.start_time, tz=UTC)

    @property
    def running(self) -> bool:
        """True while tcpdump is (supposed to be) capturing."""
        return self.status == "Running" and self._stopping is None

    def agent_stopped(self) -> None:
        """The agent went away mid-session (the devstack stopped or was killed): `Error` with
        `AgentStopped`, as Network Watcher reports an interrupted agent; the local file stays as it is."""
        if "AgentStopped" not in self.errors:
            self.errors.append("AgentStopped")
        self.status, self.stop_reason = "Error", ""
        with contextlib.suppress(OSError):
            self.bytes_written = self.spec.file_path.stat().st_size
        self.finished.set()


class CaptureAgent:
    """Starts, watches and stops tcpdump sessions; uploads each pcap when its session ends."""

    def __init__(self, clock: Clock, upload: Uploader | None, tick_s: float = TICK_S,
                 delete: Deleter | None = None) -> None:
        self.clock = clock
        self.upload = upload
        self.delete = delete
        self.tick_s = tick_s
        self.ticks = 0  # supervisor passes so far: tests wait on it instead of on time
        self.sessions: list[CaptureSession] = []
        self._supervisor: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, spec: CaptureSpec) -> CaptureSession:
        """Run tcpdump for `spec`; returns once it listens (status Running) or failed (status Error)."""
        session = CaptureSession(spec=spec)
        self.sessions.append(session)
        spec.file_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            session.process = await asyncio.create_subprocess_exec(
                *spec.argv(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if spec.ring else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        except OSError as exc:
            session.stderr_tail.append(str(exc))
            self._fail(session, "CaptureFailed")
            return session
        try:
            listening = await self._wait_listening(session)
        except asyncio.CancelledError:
            await asyncio.shield(self._kill(session))
            raise
        if listening:
            session.status = "Running"
            session.start_time = self.clock.now()
            self._spawn(self._drain_stderr(session))
            if spec.ring is not None:
                self._start_ring(session, spec.ring)
            self._ensure_supervisor()
        else:
            await self._kill(session)
            self._fail(session, "CaptureFailed")
        return session

    def _start_ring(self, session: CaptureSession, settings: RingSettings) -> None:
        proc = session.process
        assert proc is not None and proc.stdout is not None
        store = RingStore(settings.file_count, self.upload, self.delete)
        session.ring_store = store
        spec = session.spec
        prefixes = spec.ring_prefixes or ((spec.storage_path,) if spec.storage_path else ())
        session.ring = RingWriter(spec.file_path.with_suffix(""), prefixes, settings, store.put)
        session._pump = asyncio.ensure_future(session.ring.pump(proc.stdout))

    async def stop(self, session: CaptureSession, reason: str = STOP_MANUAL, upload: bool = True) -> None:
        """Stop a session (idempotent; concurrent callers share one stop) and upload its pcap."""
        if session.status in ("Stopped", "Error") and session._stopping is None:
            return
        if session._stopping is None:
            session._stopping = asyncio.ensure_future(self._finish(session, reason, upload))
        await asyncio.shield(session._stopping)

    async def close(self) -> None:
        """Stop every running tcpdump without uploading and stop supervising (no processes left behind)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await asyncio.gather(*(self.stop(s, STOP_DELETED, upload=False) for s in self.sessions if s.running))
        await asyncio.gather(*(self._kill(s) for s in self.sessions))
        for session in self.sessions:
            if session._stopping is not None:
                with contextlib.suppress(Exception):
                    await session._stopping
        self.sessions.clear()

    def kill_all(self) -> None:
        """Synchronously SIGKILL every tcpdump (used by reset); asyncio reaps them."""
        for session in self.sessions:
            proc = session.process
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            if session.ring_store is not None:
                session.ring_store.cancel()
            if session.status in ("NotStarted", "Running"):
                session.status, session.stop_reason = "Stopped", STOP_DELETED
                session.finished.set()
        self.sessions.clear()

    async def _wait_listening(self, session: CaptureSession) -> bool:
        proc = session.process
        assert proc is not None and proc.stderr is not None
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while True:
                    line = await proc.stderr.readline()
                    if not line:
                        return False
                    text = line.decode(errors="replace").strip()
                    session.stderr_tail = [*session.stderr_tail[-9:], text]
                    if "listening on" in text:
                        return True
        except TimeoutError:
            return False

    async def _drain_stderr(self, session: CaptureSession) -> None:
        proc = session.process
        assert proc is not None and proc.stderr is not None
        while line := await proc.stderr.readline():
            session.stderr_tail = [*session.stderr_tail[-9:], line.decode(errors="replace").strip()]

    def _ensure_supervisor(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.ensure_future(self._supervise())

    async def _supervise(self) -> None:
        while any(s.status in ("NotStarted", "Running") for s in self.sessions):
            for session in [s for s in self.sessions if s.running]:
                reason = self._due(session)
                if reason:
                    self._spawn(self.stop(session, reason))
            self.ticks += 1
            await asyncio.sleep(self.tick_s)

    def _due(self, session: CaptureSession) -> str:
        """Why a running session must stop now ('' = keep running)."""
        spec, proc = session.spec, session.process
        if proc is not None and proc.returncode is not None:
            return "died"
        assert session.start_time is not None
        if self.clock.now() >= session.start_time + spec.time_limit_s:
            return STOP_TIME
        if session.ring is not None:
            session.bytes_written = session.ring.bytes_total
            return ""
        with contextlib.suppress(OSError):
            session.bytes_written = spec.file_path.stat().st_size
        if spec.total_bytes and session.bytes_written >= spec.total_bytes:
            return STOP_SIZE
        return ""

    async def _finish(self, session: CaptureSession, reason: str, upload: bool) -> None:
        proc = session.process
        died = reason == "died" or (proc is not None and proc.returncode is not None)
        if not died:
            await self._settle(lambda: _written(session))
            await self._interrupt(session)
        if session.ring is not None:
            await self._finish_ring(session, upload)
        elif session.spec.file_path.exists():
            path, limit = session.spec.file_path, session.spec.total_bytes
            session.bytes_written = trim_to_limit(path, limit) if limit else path.stat().st_size
        if died:
            code = "AgentStopped" if proc is not None and (proc.returncode or 0) < 0 else "CaptureFailed"
            session.errors.append(code)
        if session.ring is None and upload and self.upload and session.spec.storage_path \
                and session.spec.file_path.exists():
            try:
                result = self.upload(session.spec.storage_path, session.spec.file_path)
                if inspect.isawaitable(result):
                    await result
                session.uploaded = True
            except Exception as exc:  # any upload failure is reported, not raised: the agent keeps serving
                log.warning("upload of %s failed: %s", session.spec.capture_id, exc)
                session.errors.append("StorageFailed")
        session.status = "Error" if session.errors else "Stopped"
        session.stop_reason = "" if died else reason
        session._stopping = None
        session.finished.set()

    async def _finish_ring(self, session: CaptureSession, upload: bool) -> None:
        """Read tcpdump's output to its end; on a stop, upload the partial file and wait for the queue."""
        ring, store = session.ring, session.ring_store
        assert ring is not None and store is not None
        if session._pump is not None:
            try:
                async with asyncio.timeout(EXIT_TIMEOUT_S):
                    await session._pump
            except TimeoutError:
                session._pump.cancel()
        if upload:
            ring.finish()
            await store.drain()
        else:
            ring.discard()
            store.cancel()
        session.bytes_written = ring.bytes_total
        session.uploaded = upload and bool(store.stored)
        if store.failed:
            session.errors.append("StorageFailed")

    @staticmethod
    async def _settle(size_of: Callable[[], int], quiet_s: float = 0.06, max_s: float = 0.5) -> None:
        """Let tcpdump write what the kernel already handed it: SIGINT breaks its loop and would drop
        packets still queued on the socket. Returns once the written size stayed put for `quiet_s`."""
        loop = asyncio.get_running_loop()
        give_up, last, quiet_since = loop.time() + max_s, -1, loop.time()
        while loop.time() < give_up:
            size = size_of()
            if size != last:
                last, quiet_since = size, loop.time()
            elif loop.time() - quiet_since >= quiet_s:
                return
            await asyncio.sleep(0.02)

    async def _interrupt(self, session: CaptureSession) -> None:
        proc = session.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            async with asyncio.timeout(EXIT_TIMEOUT_S):
                await proc.wait()
        except TimeoutError:
            await self._kill(session)

    async def _kill(self, session: CaptureSession) -> None:
        proc = session.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()

    def _fail(self, session: CaptureSession, code: str) -> None:
        session.status = "Error"
        session.errors.append(code)
        log.warning("capture %s failed: %s", session.spec.capture_id, " | ".join(session.stderr_tail))
        session.finished.set()


def _written(session: CaptureSession) -> int:
    """Bytes tcpdump handed over so far: the ring's total, or the one-shot file's size."""
    if session.ring is not None:
        return session.ring.bytes_total
    path = session.spec.file_path
    return path.stat().st_size if path.exists() else 0
