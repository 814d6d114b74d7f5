"""Fault injection for the emulators, driven by tests through the admin API.

A fault applies to one (service, operation id) pair, where either may be `*`. The operation id is the
aiohttp route's `name` (e.g. `PacketCaptures_Create`). A fault can answer with a status (optionally with
`Retry-After`), add a delay before the real handler runs, or drop the connection; it applies to the next
`count` matching calls or to a `ratio` of them (deterministically: every 1/ratio-th call), or to all
calls when neither is given.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from devstack.common.errors import arm_error

DEFAULT_CODES = {
    429: ("TooManyRequests", "The request is being throttled."),
    500: ("InternalServerError", "Injected internal server error."),
    502: ("BadGateway", "Injected bad gateway."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "Injected gateway timeout."),
}


class FaultSpecError(ValueError):
    """A fault specification is invalid (the message names the field)."""


SPEC_FIELDS = (
    "service", "operation", "status", "retry_after", "delay", "drop", "count", "ratio", "code", "message",
)  # what a fault spec may hold (the admin API's JSON); `fired` and `seen` are counted here


@dataclass
class Fault:
    """One injected fault and how often it has fired."""

    service: str = "*"
    operation: str = "*"
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: bool = False
    count: int | None = None
    ratio: float | None = None
    code: str | None = None
    message: str | None = None
    fired: int = 0
    seen: int = 0
    _credit: float = field(default=0.0, repr=False)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Fault:
        """Build from the admin API's JSON, validating every field."""
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault must be a JSON object")
        unknown = sorted(set(spec) - set(SPEC_FIELDS))
        if unknown:
            raise FaultSpecError(f"unknown fault field {unknown[0]!r}")
        fault = cls(
            service=_text(spec, "service", "*") or "*",
            operation=_text(spec, "operation", "*") or "*",
            status=_number(spec, "status", int, 400, 599),
            retry_after=_number(spec, "retry_after", float, 0, 3600),
            delay=_number(spec, "delay", float, 0, 300) or 0.0,
            drop=_flag(spec, "drop"),
            count=_number(spec, "count", int, 1, 1_000_000),
            ratio=_number(spec, "ratio", float, 0, 1),
            code=_text(spec, "code", None),
            message=_text(spec, "message", None),
        )
        if fault.status is None and not fault.drop and not fault.delay:
            raise FaultSpecError("a fault needs at least one of status, drop or delay")
        if fault.status is not None and fault.drop:
            raise FaultSpecError("status and drop cannot be combined")
        if fault.retry_after is not None and fault.status is None:
            raise FaultSpecError("retry_after needs a status")
        if fault.count is not None and fault.ratio is not None:
            raise FaultSpecError("count and ratio cannot be combined")
        return fault

    def to_dict(self) -> dict[str, Any]:
        """The JSON view (admin API)."""
        return {k: getattr(self, k) for k in (*SPEC_FIELDS, "fired", "seen")}

    def matches(self, service: str, operation: str) -> bool:
        """Whether this fault targets the call."""
        return self.service in ("*", service.lower()) and self.operation in ("*", operation.lower())

    def exhausted(self) -> bool:
        """True once a `count` fault has fired `count` times."""
        return self.count is not None and self.fired >= self.count

    def take(self) -> bool:
        """Count a matching call and decide whether the fault fires on it."""
        self.seen += 1
        if self.exhausted():
            return False
        if self.ratio is not None:
            self._credit += self.ratio
            if self._credit < 1.0 - 1e-9:
                return False
            self._credit -= 1.0
        self.fired += 1
        return True


def _text(spec: dict, key: str, default: str | None) -> str | None:
    value = spec.get(key, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise FaultSpecError(f"{key} must be a non-empty string")
    return value.lower() if key in ("service", "operation") and value else value


def _number(spec: dict, key: str, kind: type, low: float, high: float) -> Any:
    value = spec.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (kind is int and not isinstance(value, int))
    ):
        raise FaultSpecError(f"{key} must be {'an integer' if kind is int else 'a number'}")
    if not low <= value <= high:
        raise FaultSpecError(f"{key} must be between {low} and {high}")
    return kind(value)


def _flag(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise FaultSpecError(f"{key} must be true or false")
    return value


class FaultInjector:
    """The active faults, shared by all emulators of one devstack (thread-safe)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault | dict[str, Any]) -> Fault:
        """Activate a fault (a `Fault` or its JSON form)."""
        if isinstance(fault, dict):
            fault = Fault.from_dict(fault)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self, service: str | None = None, operation: str | None = None) -> int:
        """Remove faults (all, or those of one service/operation); returns how many were removed."""
        with self._lock:
            keep = [
                f
                for f in self._faults
                if (service is not None and f.service != service.lower())
                or (operation is not None and f.operation != operation.lower())
            ]
            removed = len(self._faults) - len(keep)
            self._faults = keep
        return removed

    def list(self) -> list[Fault]:
        """The active faults."""
        with self._lock:
            return list(self._faults)

    def pick(self, service: str, operation: str) -> Fault | None:
        """The fault that fires for this call, if any (exact matches beat wildcards)."""
        with self._lock:
            candidates = [f for f in self._faults if f.matches(service, operation) and not f.exhausted()]
            candidates.sort(key=lambda f: (f.service == "*", f.operation == "*"))
            for fault in candidates:
                if fault.take():
                    return fault
        return None

    def middleware(self, service: str):
        """An aiohttp middleware applying this injector's faults to `service` (operation = route name)."""

        @web.middleware
        async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            route = request.match_info.route
            operation = getattr(route, "name", None) or "*"
            fault = self.pick(service, operation) if route is not None and operation != "*" else None
            if fault is None:
                return await handler(request)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()  # RST-like close: the client sees a dropped connection
                return web.Response(status=503)  # never reaches the client
            if fault.status is not None:
                return fault_response(fault)
            return await handler(request)

        return fault_middleware


def fault_response(fault: Fault) -> web.Response:
    """The error response an injected status fault answers with."""
    assert fault.status is not None
    code, message = DEFAULT_CODES.get(fault.status, ("InjectedFault", f"Injected HTTP {fault.status}."))
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = (
            str(int(fault.retry_after))
            if fault.retry_after == int(fault.retry_after)
            else str(fault.retry_after)
        )
    if fault.status == 429:
        headers["x-ms-ratelimit-remaining-subscription-reads"] = "0"
    return arm_error(fault.status, fault.code or code, fault.message or message, headers=headers)
