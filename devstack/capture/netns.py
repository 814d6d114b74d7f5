"""Network namespaces that stand in for VMs: one namespace + one veth pair per VM whose config has `netns`.

The veth's outer end stays in the root namespace, its inner end is renamed `eth0` inside the namespace. Each
namespace gets one /30 of 10.231.0.0/16: `.1` outside, `.2` inside. Traffic between a process inside the
namespace and the root namespace crosses the veth, which is where tcpdump captures it. Slots are assigned from
a hash of the namespace name (linear probing in name order), so the same config always yields the same
addresses.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPERNET = ipaddress.ip_network("10.231.0.0/16")
SLOTS = SUPERNET.num_addresses // 4
INNER_INTERFACE = "eth0"
NETNS_DIR = Path("/run/netns")


class NetnsError(RuntimeError):
    """An `ip` command failed while creating or removing a namespace."""


@dataclass(frozen=True)
class VmNetwork:
    """Where an emulated VM lives on this machine: a namespace and the two ends of its veth."""

    namespace: str
    inner_interface: str
    outer_interface: str
    inner_ip: str
    outer_ip: str
    prefix_len: int = 30

    def exec_argv(self, argv: list[str]) -> list[str]:
        """`argv` wrapped to run inside the namespace (as the VM)."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def counters(self) -> dict[str, int]:
        """The inner interface's counters as the VM sees them (`rx_bytes`, `tx_packets`, ...)."""
        out = _ip("-n", self.namespace, "-s", "-j", "link", "show", "dev", self.inner_interface)
        stats = json.loads(out)[0].get("stats64", {})
        return {f"{way}_{key}": int(stats[way][key]) for way in ("rx", "tx") for key in ("bytes", "packets")}

    def exists(self) -> bool:
        """Whether the namespace and both veth ends are present."""
        if not (NETNS_DIR / self.namespace).exists():
            return False
        outer = subprocess.run(["ip", "link", "show", "dev", self.outer_interface], capture_output=True)
        inner = subprocess.run(
            ["ip", "-n", self.namespace, "link", "show", "dev", self.inner_interface], capture_output=True
        )
        return outer.returncode == 0 and inner.returncode == 0


def networks_for(namespaces: Iterable[str]) -> dict[str, VmNetwork]:
    """The deterministic `VmNetwork` of each namespace name."""
    taken: set[int] = set()
    result = {}
    for name in sorted(set(namespaces)):
        slot = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % SLOTS
        while slot in taken:
            slot = (slot + 1) % SLOTS
        taken.add(slot)
        base = SUPERNET.network_address + 4 * slot
        result[name] = VmNetwork(
            namespace=name,
            inner_interface=INNER_INTERFACE,
            outer_interface=f"vacap{slot}",
            inner_ip=str(base + 2),
            outer_ip=str(base + 1),
        )
    return result


def configured_namespaces(config: Any) -> list[str]:
    """The `netns` names of the config's VMs and scale sets."""
    machines = [*getattr(config, "vms", []), *getattr(config, "scale_sets", [])]
    return sorted({m.netns for m in machines if getattr(m, "netns", None)})


def ensure_namespaces(config: Any) -> dict[str, VmNetwork]:
    """Create (idempotently) the namespace and veth of every VM with `netns`; returns them by name."""
    networks = networks_for(configured_namespaces(config))
    for network in networks.values():
        if not network.exists():
            _remove(network)
            _create(network)
    return networks


def teardown_namespaces(config: Any) -> None:
    """Delete the namespaces and veths `ensure_namespaces` made for this config (missing ones are fine)."""
    for network in networks_for(configured_namespaces(config)).values():
        _remove(network)


def _create(n: VmNetwork) -> None:
    inner_tmp = f"{n.outer_interface}i"
    _ip("netns", "add", n.namespace)
    _ip("link", "add", n.outer_interface, "type", "veth", "peer", "name", inner_tmp)
    _ip("link", "set", inner_tmp, "netns", n.namespace)
    _ip("-n", n.namespace, "link", "set", inner_tmp, "name", n.inner_interface)
    _ip("addr", "add", f"{n.outer_ip}/{n.prefix_len}", "dev", n.outer_interface)
    _ip("link", "set", n.outer_interface, "up")
    _ip("-n", n.namespace, "addr", "add", f"{n.inner_ip}/{n.prefix_len}", "dev", n.inner_interface)
    _ip("-n", n.namespace, "link", "set", n.inner_interface, "up")
    _ip("-n", n.namespace, "link", "set", "lo", "up")
    _ip("-n", n.namespace, "route", "add", "default", "via", n.outer_ip)


def _remove(n: VmNetwork) -> None:
    subprocess.run(["ip", "link", "del", n.outer_interface], capture_output=True)
    if (NETNS_DIR / n.namespace).exists():
        subprocess.run(["ip", "netns", "del", n.namespace], capture_output=True)


def _ip(*args: str) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout
