"""Which Network Watcher a capture uses."""

from __future__ import annotations

from core.regions import pick_watcher


def test_watcher_is_matched_by_location_not_by_name() -> None:
    watchers = [{"id": "/w/NetworkWatcher_westeurope", "location": "eastus"},
                {"id": "/w/custom-name", "location": "West Europe"}]
    assert pick_watcher(watchers, "westeurope")["id"] == "/w/custom-name"
    assert pick_watcher(watchers, "northeurope") is None
