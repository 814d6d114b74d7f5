"""A region without a Network Watcher: the typed payloads of ``create_watcher`` and what to tell operators.

Azure enables a watcher per region by default as ``NetworkWatcher_<region>`` in the resource group
``NetworkWatcherRG`` (https://learn.microsoft.com/azure/network-watcher/network-watcher-create); organisations
can opt out or delete it. With ``NETWORK_WATCHER_AUTO_CREATE`` the run creates both the way Azure does;
without it the run fails with :func:`missing_watcher_reason`, which names the exact commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WATCHER_RESOURCE_GROUP = "NetworkWatcherRG"


def watcher_name(region: str) -> str:
    """The name Azure gives a region's watcher: ``NetworkWatcher_<region>``."""
    return f"NetworkWatcher_{region}"


def missing_watcher_reason(subscription_id: str, region: str) -> str:
    """The failure reason when a region has no watcher and auto-create is off: what to run, exactly."""
    group = WATCHER_RESOURCE_GROUP
    return (
        f"no Network Watcher is enabled in region {region} (NETWORK_WATCHER_AUTO_CREATE is off). "
        f"Enable it with: az group create --subscription {subscription_id} --name {group} "
        f"--location {region} (if the group does not exist yet), then az network watcher configure "
        f"--subscription {subscription_id} --resource-group {group} --locations {region} --enabled true; "
        "or set NETWORK_WATCHER_AUTO_CREATE=true so alertcap creates it"
    )


@dataclass(frozen=True)
class WatcherRequest:
    """Input of ``create_watcher``: the subscription and the region that lacks a watcher."""

    subscription_id: str
    region: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"subscription_id": self.subscription_id, "region": self.region}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WatcherRequest:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["subscription_id"]), str(data["region"]))


@dataclass(frozen=True)
class CreatedWatcher:
    """Output value of ``create_watcher``: the watcher, and what had to be created for it."""

    id: str
    name: str
    location: str
    created_group: bool
    created_watcher: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``id``/``name``/``location`` are the keys a listed watcher has)."""
        return {"id": self.id, "name": self.name, "location": self.location,
                "created_group": self.created_group, "created_watcher": self.created_watcher}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CreatedWatcher:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["id"]), str(data["name"]), str(data["location"]),
                   bool(data.get("created_group")), bool(data.get("created_watcher")))
