"""ARM asynchronous operations: what `Azure-AsyncOperation` and `Location` URLs point at.

An operation is `InProgress` until its work (an asyncio task: starting tcpdump, stopping and uploading) ends
or, for work that completes at once, for a fixed number of polls (so a client sees the InProgress -> Succeeded
sequence Azure shows). A status GET waits briefly for the work, so clients polling with no delay do not spin.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devstack.common.persist import TRANSIENT

TERMINAL = ("Succeeded", "Failed", "Canceled")
LONG_POLL_S = 0.5


@dataclass
class AsyncOperation:
    """One long-running operation of a provider in a region."""

    id: str
    subscription_id: str
    provider: str  # Microsoft.Network | Microsoft.Compute
    location: str
    result_status: int = 200  # what the Location URL answers once done (200 + body, or 204)
    result_body: Any = None
    status: str = "InProgress"
    error: dict[str, str] | None = None
    polls_left: int = 0
    background: bool = False  # driven by `work` (a task), not by a number of polls
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    end_time: datetime | None = None
    work: asyncio.Task | None = field(default=None, metadata=TRANSIENT)
    on_done: Callable[[AsyncOperation], None] | None = field(default=None, metadata=TRANSIENT)

    @property
    def path(self) -> str:
        """`/subscriptions/../providers/<provider>/locations/<region>` (the common prefix of its URLs)."""
        return f"/subscriptions/{self.subscription_id}/providers/{self.provider}/locations/{self.location}"

    def urls(self, base: str, api_version: str) -> dict[str, str]:
        """The `Azure-AsyncOperation` and `Location` headers for this operation."""
        query = f"?api-version={api_version}"
        return {
            "Azure-AsyncOperation": f"{base}{self.path}/operations/{self.id}{query}",
            "Location": f"{base}{self.path}/operationResults/{self.id}{query}",
        }

    def interrupt(self) -> None:
        """The devstack went down while this ran: background work is `Canceled` (it will never end);
        an operation that only waited for polls completed meanwhile (as a quick Azure LRO would)."""
        if self.status in TERMINAL:
            return
        if self.background:
            self.status, self.end_time = "Canceled", datetime.now(UTC)
        else:
            self.finish()

    def finish(self, error: dict[str, str] | None = None) -> None:
        """Mark the operation done (Failed when `error`)."""
        if self.status in TERMINAL:
            return
        self.status, self.error = ("Failed", error) if error else ("Succeeded", None)
        self.end_time = datetime.now(UTC)
        if self.on_done is not None:
            self.on_done(self)

    def body(self) -> dict[str, Any]:
        """The operation status body (`{"status": ...}` plus times, name and error)."""
        body: dict[str, Any] = {
            "name": self.id,
            "status": self.status,
            "startTime": self.start_time.isoformat().replace("+00:00", "Z"),
        }
        if self.end_time is not None:
            body["endTime"] = self.end_time.isoformat().replace("+00:00", "Z")
        if self.error:
            body["error"] = self.error
        if self.status == "Succeeded" and self.provider == "Microsoft.Network" and self.result_status != 204:
            body["properties"] = {}
        return body


class AsyncOperations:
    """All operations of one emulator, by id."""

    def __init__(self, ops: dict[str, AsyncOperation] | None = None) -> None:
        """`ops` is the dict to keep them in (the emulator's persisted state); a new one by default."""
        self._ops: dict[str, AsyncOperation] = {} if ops is None else ops

    def start(
        self,
        subscription_id: str,
        provider: str,
        location: str,
        work: Awaitable[Any] | None = None,
        polls: int = 1,
        result_status: int = 200,
    ) -> AsyncOperation:
        """Register an operation driven by `work` (Failed if it raises), or by `polls` InProgress answers."""
        op = AsyncOperation(
            id=str(uuid.uuid4()),
            subscription_id=subscription_id.lower(),
            provider=provider,
            location=location,
            result_status=result_status,
            polls_left=0 if work is not None else polls,
            background=work is not None,
        )
        if work is not None:
            op.work = asyncio.ensure_future(work)
            op.work.add_done_callback(lambda task: _settle(op, task))
        elif polls <= 0:
            op.finish()
        self._ops[op.id] = op
        return op

    def find(self, subscription_id: str, provider: str, location: str, op_id: str) -> AsyncOperation | None:
        """The operation at this URL, if any (case-insensitive)."""
        op = self._ops.get(op_id.lower())
        if op is None or op.subscription_id != subscription_id.lower():
            return None
        if op.provider.lower() != provider.lower() or op.location.lower() != location.lower():
            return None
        return op

    async def poll(self, op: AsyncOperation) -> AsyncOperation:
        """Advance the operation by one status read (waiting up to LONG_POLL_S for its work)."""
        if op.work is not None and not op.work.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(op.work), LONG_POLL_S)
            if op.work.done() and op.status not in TERMINAL:
                _settle(op, op.work)
        elif op.status not in TERMINAL:
            if op.polls_left > 0:
                op.polls_left -= 1
            else:
                op.finish()
        return op

    def busy(self) -> bool:
        """Whether some operation is still in progress."""
        return any(op.status not in TERMINAL for op in self._ops.values())

    async def close(self) -> None:
        """Cancel unfinished work; the operations stay (Canceled) in the state, as a restart finds them."""
        for op in self._ops.values():
            if op.work is not None and not op.work.done():
                op.work.cancel()
                with contextlib.suppress(BaseException):
                    await op.work
            op.interrupt()

    def clear(self) -> None:
        """Forget every operation (reset); unfinished work is cancelled."""
        for op in self._ops.values():
            if op.work is not None and not op.work.done():
                op.work.cancel()
        self._ops.clear()


def _settle(op: AsyncOperation, task: asyncio.Task) -> None:
    if task.cancelled():
        op.status, op.end_time = "Canceled", datetime.now(UTC)
        return
    exc = task.exception()
    if exc is None:
        op.finish()
    else:
        code = getattr(exc, "code", "InternalServerError")
        op.finish({"code": code, "message": getattr(exc, "message", None) or str(exc)})
