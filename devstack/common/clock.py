"""An injectable clock for capture durations: real time times a speed factor, or manual time.

`now()` is emulated seconds since the epoch. In real mode it runs `speed` times as fast as the wall clock; in
manual mode it stands still until `advance()` moves it. `sleep()`/`sleep_until()` wait on emulated time and
wake up when the time is advanced or the speed changes, so tests can drive long captures without real sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """Emulated time shared by the emulators of one devstack."""

    def __init__(
        self,
        speed: float = 1.0,
        manual: bool = False,
        start: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base_emulated = time.time() if start is None else start
        self._base_real = monotonic()
        self._speed = speed
        self._manual = manual
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def speed(self) -> float:
        """How many emulated seconds pass per real second (ignored in manual mode)."""
        return self._speed

    @property
    def manual(self) -> bool:
        """True when time only moves through `advance()`."""
        return self._manual

    def now(self) -> float:
        """Emulated seconds since the epoch."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self._manual:
            return self._base_emulated
        return self._base_emulated + (self._monotonic() - self._base_real) * self._speed

    def utcnow(self) -> datetime:
        """Emulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def _rebase(self) -> None:
        self._base_emulated = self._now_locked()
        self._base_real = self._monotonic()

    def set_speed(self, speed: float) -> None:
        """Change the speed factor (time so far is kept)."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        with self._lock:
            self._rebase()
            self._speed = speed
        self._wake()

    def set_manual(self, manual: bool) -> None:
        """Freeze time (manual) or let it run again from where it stands."""
        with self._lock:
            self._rebase()
            self._manual = manual
        self._wake()

    def reset(self, speed: float = 1.0, manual: bool = False) -> None:
        """Back to the wall clock (the one backwards jump allowed), with this speed and mode."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        with self._lock:
            self._base_emulated, self._base_real = time.time(), self._monotonic()
            self._speed, self._manual = speed, manual
        self._wake()

    def advance(self, seconds: float) -> float:
        """Move emulated time forward by `seconds` (either mode); returns the new `now()`."""
        if seconds < 0:
            raise ValueError("cannot move the clock backwards")
        with self._lock:
            self._rebase()
            self._base_emulated += seconds
            now = self._base_emulated
        self._wake()
        return now

    def to_dict(self) -> dict[str, object]:
        """The JSON view (admin API)."""
        return {
            "now": self.utcnow().isoformat(),
            "epoch": self.now(),
            "speed": self._speed,
            "manual": self._manual,
        }

    @property
    def sleepers(self) -> int:
        """How many `sleep`/`sleep_until` calls are waiting on this clock now."""
        with self._lock:
            return len(self._waiters)

    def _wake(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def sleep_until(self, deadline: float) -> None:
        """Return once emulated `now()` >= `deadline`."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        with self._lock:
            self._waiters.add(entry)
        try:
            while True:
                with self._lock:
                    remaining = deadline - self._now_locked()
                    manual, speed = self._manual, self._speed
                if remaining <= 0:
                    return
                event.clear()
                timeout = None if manual else remaining / speed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
        finally:
            with self._lock:
                self._waiters.discard(entry)

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of emulated time."""
        await self.sleep_until(self.now() + seconds)
