"""Choose the Network Watcher for a region from the subscription's list (never assume its name)."""

from __future__ import annotations

from collections.abc import Iterable

from core.watchers import WatcherInfo


def pick_watcher(watchers: Iterable[WatcherInfo], location: str) -> WatcherInfo | None:
    """The watcher whose ``location`` matches ``location`` case- and space-insensitively, if any."""
    wanted = location.replace(" ", "").lower()
    matches = [w for w in watchers if w.location.replace(" ", "").lower() == wanted]
    return sorted(matches, key=lambda w: w.id.lower())[0] if matches else None
