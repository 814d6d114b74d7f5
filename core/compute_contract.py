"""Payloads of the compute activities: where the target runs (``locate_target``) and its Network Watcher agent
(``check_agent``, ``install_agent``), for a VM or a scale set alike."""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import Payload


@dataclass(frozen=True)
class LocateRequest(Payload):
    """Input of ``locate_target``."""

    target_id: str
    target_type: str


@dataclass(frozen=True)
class LocatedTarget(Payload):
    """Output value of ``locate_target``: region (lower case), OS type and power state (a scale set counts as
    running; a VM with no power state reads ``unknown``)."""

    location: str
    os_type: str = ""
    power_state: str = "unknown"
    name: str = ""
    vm_id: str = ""  # a VM's vmId ('' for a scale set)


@dataclass(frozen=True)
class AgentCheckRequest(Payload):
    """Input of ``check_agent``: ``scope_include``: a scale set's captured instances (empty: all)."""

    target_id: str
    target_type: str
    scope_include: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentState(Payload):
    """Output value of ``check_agent``; ``outdated``: scale-set instances not on the agent's model."""

    installed: bool
    name: str = ""
    provisioning_state: str = ""
    outdated: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentInstallRequest(Payload):
    """Input of ``install_agent``: ``location`` and ``os_type`` come from ``locate_target``."""

    target_id: str
    target_type: str
    location: str
    os_type: str
    scope_include: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentInstalled(Payload):
    """Output value of ``install_agent``; a scale set's upgraded instances and upgrade policy."""

    name: str
    provisioning_state: str
    upgraded: tuple[str, ...] = ()
    upgrade_mode: str = ""
