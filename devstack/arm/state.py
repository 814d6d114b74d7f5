"""Everything the ARM emulator remembers, as one dataclass: what `store.py` persists across restarts.

A new resource kind becomes a new field here (a dict of dataclasses keyed by lower-case id) and is then
persisted, reset and restored with no further code; runtime-only fields of its dataclass are marked
`metadata=TRANSIENT` (see `devstack.common.persist`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devstack.arm.asyncops import AsyncOperation
from devstack.arm.compute import Machine
from devstack.arm.network import PacketCapture, ResourceGroup


@dataclass
class ArmState:
    """The emulated resources of one devstack (keys: lower-case ARM ids or tuples; operations by id)."""

    machines: dict[str, Machine] = field(default_factory=dict)
    captures: dict[str, PacketCapture] = field(default_factory=dict)
    operations: dict[str, AsyncOperation] = field(default_factory=dict)
    watcherless: set[tuple[str, str]] = field(default_factory=set)  # (sub, region): default watcher opted out
    created_watchers: set[tuple[str, str]] = field(default_factory=set)  # (sub, region) created by a PUT
    created_groups: dict[tuple[str, str], ResourceGroup] = field(default_factory=dict)  # (sub, lower name)
