"""Network Watchers: the payloads of ``list_watchers`` and ``create_watcher``, and what to tell operators.

Azure enables a watcher per region by default as ``NetworkWatcher_<region>`` in the resource group
``NetworkWatcherRG`` (https://learn.microsoft.com/azure/network-watcher/network-watcher-create); organisations
can opt out or delete it. With ``NETWORK_WATCHER_AUTO_CREATE`` the run creates both the way Azure does;
without it the run fails with :func:`missing_watcher_reason`, which names the exact commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import Payload

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
class WatcherListRequest(Payload):
    """Input of ``list_watchers``."""

    subscription_id: str


@dataclass(frozen=True)
class WatcherInfo(Payload):
    """One Network Watcher: its id, name and region (lower case)."""

    id: str
    name: str
    location: str


@dataclass(frozen=True)
class WatcherList(Payload):
    """Output value of ``list_watchers``: every watcher of the subscription."""

    watchers: tuple[WatcherInfo, ...] = ()


@dataclass(frozen=True)
class WatcherRequest(Payload):
    """Input of ``create_watcher``: the subscription and the region that lacks a watcher."""

    subscription_id: str
    region: str


@dataclass(frozen=True)
class CreatedWatcher(Payload):
    """Output value of ``create_watcher``: the watcher, and what had to be created for it."""

    id: str
    name: str
    location: str
    created_group: bool = False
    created_watcher: bool = False

    @property
    def watcher(self) -> WatcherInfo:
        """The watcher as ``list_watchers`` would have listed it."""
        return WatcherInfo(self.id, self.name, self.location)
