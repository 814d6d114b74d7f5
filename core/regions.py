"""Choose the Network Watcher for a region from the subscription's list (never assume its name)."""

from __future__ import annotations

from typing import Any


def pick_watcher(watchers: list[dict[str, Any]], location: str) -> dict[str, Any] | None:
    """The watcher whose ``location`` matches ``location`` case- and space-insensitively, if any."""
    wanted = location.replace(" ", "").lower()
    matches = [w for w in watchers if str(w.get("location", "")).replace(" ", "").lower() == wanted]
    return sorted(matches, key=lambda w: str(w.get("id", "")).lower())[0] if matches else None
