"""ARM's throttling headers: remaining requests in a per-subscription token bucket.

Buckets as documented for ARM (reads 250 refilling 25/s, writes and deletes 200 refilling 10/s; the global
limit is 15 times larger). The emulator only reports what remains; it never answers 429 by itself (tests get
429s from the fault injector, so they decide when and whether `Retry-After` is present).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

BUCKETS = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}
GLOBAL_FACTOR = 15


@dataclass
class _Bucket:
    size: float
    refill: float
    tokens: float
    stamp: float

    def take(self, now: float) -> int:
        self.tokens = min(self.size, self.tokens + (now - self.stamp) * self.refill)
        self.stamp = now
        self.tokens = max(0.0, self.tokens - 1)
        return int(self.tokens)


def kind_of(method: str) -> str:
    """The bucket a request draws from."""
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


class Throttle:
    """Token buckets per (subscription, kind), local and global."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._buckets: dict[tuple[str, str, bool], _Bucket] = {}

    def headers(self, subscription_id: str, method: str) -> dict[str, str]:
        """Draw one token and report what remains, as ARM's `x-ms-ratelimit-remaining-*` headers."""
        kind = kind_of(method)
        now = self._now()
        result = {}
        for is_global in (False, True):
            key = (subscription_id.lower(), kind, is_global)
            bucket = self._buckets.get(key)
            if bucket is None:
                size, refill = BUCKETS[kind]
                factor = GLOBAL_FACTOR if is_global else 1
                bucket = self._buckets[key] = _Bucket(size * factor, refill * factor, size * factor, now)
            name = f"x-ms-ratelimit-remaining-subscription-{'global-' if is_global else ''}{kind}"
            result[name] = str(bucket.take(now))
        return result

    def reset(self) -> None:
        """Full buckets again."""
        self._buckets.clear()
