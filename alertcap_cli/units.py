"""Parse the durations and sizes operators type: `15m`, `90s`, `2h`; `2GiB`, `500MB`, `1048576`."""

from __future__ import annotations

import re

from alertcap_cli.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$", re.IGNORECASE)
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE_BYTES = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_duration(text: str, *, option: str) -> int:
    """Whole seconds from `90`, `90s`, `15m`, `2h` or `1d` (UsageError otherwise)."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"{option}: cannot read {text!r} as a duration", "use e.g. 90s, 15m, 2h or 1d")
    return int(match.group(1)) * _DURATION_SECONDS[(match.group(2) or "s").lower()]


def parse_size(text: str, *, option: str) -> int:
    """Bytes from `1048576`, `500MB`, `2GiB` (decimal and binary units; UsageError otherwise)."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"{option}: cannot read {text!r} as a size", "use e.g. 500MiB, 2GiB or 2000000000")
    return int(float(match.group(1)) * _SIZE_BYTES[(match.group(2) or "b").lower()])


def format_size(size: int | None) -> str:
    """`2.0 GiB`, `512.0 KiB`, `300 B`; '' for None."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
