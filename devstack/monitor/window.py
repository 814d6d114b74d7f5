"""A sliding window over samples of a cumulative counter: the total the counter grew by within the window."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowTotal:
    """The counter's growth between `start` and `end` (epoch seconds)."""

    value: int
    start: float
    end: float


class CounterWindow:
    """Keeps (time, value) samples for `window_seconds` and answers the growth over that window.

    A counter that goes down (the namespace was re-created) starts a new series: samples from before the
    reset are dropped, so the window never reports a negative total.
    """

    def __init__(self, window_seconds: float) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be > 0")
        self.window_seconds = window_seconds
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, value: int) -> None:
        """Record a sample taken at `at`; samples must come in time order."""
        if self._samples and value < self._samples[-1][1]:
            self._samples.clear()
        self._samples.append((at, value))
        # Keep the newest sample at or before the window's start: it is the window's baseline.
        cutoff = at - self.window_seconds
        while len(self._samples) >= 2 and self._samples[1][0] <= cutoff:
            self._samples.popleft()

    def total(self) -> WindowTotal | None:
        """Growth from the baseline to the newest sample (None before the first sample)."""
        if not self._samples:
            return None
        start_at, start_value = self._samples[0]
        end_at, end_value = self._samples[-1]
        return WindowTotal(value=end_value - start_value, start=max(start_at, end_at - self.window_seconds),
                           end=end_at)
