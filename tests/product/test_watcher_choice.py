"""Which Network Watcher a capture uses."""

from __future__ import annotations

from core.regions import pick_watcher
from core.watchers import WatcherInfo


def test_watcher_is_matched_by_location_not_by_name() -> None:
    watchers = [WatcherInfo("/w/NetworkWatcher_westeurope", "NetworkWatcher_westeurope", "eastus"),
                WatcherInfo("/w/custom-name", "custom-name", "West Europe")]
    chosen = pick_watcher(watchers, "westeurope")
    assert chosen is not None and chosen.id == "/w/custom-name"
    assert pick_watcher(watchers, "northeurope") is None
