"""Durable timers as due times on one heap, fired by the event loop's clock: no thread or sleep per timer."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable

log = logging.getLogger("devstack.host.engine")


class TimerClock:
    """Calls ``fire(row_id)`` on the loop once ``time.time()`` reaches each armed timer's due epoch second.

    Rows are only ids: ``fire`` looks the timer up in the store, so a timer cancelled, fired or purged
    meanwhile is simply not found there. Timers already due when armed (e.g. after a restart) fire at once.
    """

    def __init__(self, fire: Callable[[int], None]):
        self._fire = fire
        self._heap: list[tuple[float, int]] = []
        self._changed = asyncio.Event()

    def arm(self, due: float, row_id: int) -> None:
        """Schedule ``row_id`` for ``due`` (epoch seconds)."""
        heapq.heappush(self._heap, (due, row_id))
        self._changed.set()

    async def run(self) -> None:
        """Fire due timers, then wait until the next due time or a new arm(); runs until cancelled."""
        while True:
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                _, row_id = heapq.heappop(self._heap)
                try:
                    self._fire(row_id)
                except Exception:  # the row stays armed in the database and fires on the next start
                    log.exception("timer row %d could not fire", row_id)
            timeout = self._heap[0][0] - now if self._heap else None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
