"""Reading a VM's cumulative counters from inside its network namespace.

`/proc/net/snmp` and `/sys/class/net` show the namespace of the process that reads them, so a VM with a
namespace is read through `ip netns exec <ns> ...` (which also remounts `/sys` for that namespace). A VM
without one (`interface = "lo"` in the root namespace) is read directly.

"Network Out Total" is "bytes out on all network interfaces" of the VM: inside a namespace that is the sum
of `tx_bytes` over every interface but `lo` (the VM's veth); in the root namespace it is the configured
interface alone (the root namespace's other interfaces are not the VM's).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from devstack.monitor.metrics import parse_int_counter, parse_snmp_counter
from devstack.monitor.targets import MetricTarget

SNMP_PATH = "/proc/net/snmp"
READ_TIMEOUT_SECONDS = 5.0


class CounterReadError(RuntimeError):
    """A counter could not be read (namespace gone, interface missing, `ip` failed)."""


class CounterSource(Protocol):
    """Where the evaluator gets cumulative counter values; tests inject their own."""

    async def read(self, target: MetricTarget, metric: str) -> int:
        """The current cumulative value of `metric` (a config metric key) for `target`."""
        ...


def tx_bytes_path(interface: str) -> str:
    """The sysfs file holding an interface's transmitted byte count."""
    if not interface or "/" in interface or interface in (".", ".."):
        raise CounterReadError(f"bad interface name {interface!r}")
    return f"/sys/class/net/{interface}/statistics/tx_bytes"


class NamespaceCounters:
    """Reads `Tcp: OutSegs` and `tx_bytes` for a target, inside its namespace when it has one."""

    async def read(self, target: MetricTarget, metric: str) -> int:
        """The current cumulative value of `metric` for `target`."""
        if metric == "TcpSegmentsSent":
            return parse_snmp_counter(await self._cat(target.netns, SNMP_PATH))
        if metric == "NetworkOutTotal":
            if target.netns is not None:
                return await namespace_tx_bytes(target.netns)
            path = tx_bytes_path(target.interface)
            return parse_int_counter(await self._cat(None, path), path)
        raise CounterReadError(f"no counter for metric {metric!r}")

    async def _cat(self, netns: str | None, path: str) -> str:
        if netns is None:
            try:
                return await asyncio.to_thread(Path(path).read_text)
            except OSError as exc:
                raise CounterReadError(f"cannot read {path}: {exc.strerror}") from exc
        return await read_in_namespace(netns, path)


async def read_in_namespace(netns: str, path: str) -> str:
    """The text of `path` as seen from inside network namespace `netns`."""
    return await _run_in_namespace(netns, ["cat", path], path)


async def namespace_tx_bytes(netns: str) -> int:
    """Bytes sent by every interface of `netns` except the loopback (sysfs `tx_bytes`)."""
    script = "grep -H . /sys/class/net/*/statistics/tx_bytes"
    text = await _run_in_namespace(netns, ["sh", "-c", script], "/sys/class/net/*/statistics/tx_bytes")
    total = 0
    for line in text.splitlines():
        path, _, value = line.rpartition(":")
        if path.split("/")[4:5] != ["lo"]:
            total += parse_int_counter(value, path)
    return total


async def _run_in_namespace(netns: str, argv: list[str], what: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT_SECONDS)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise CounterReadError(f"cannot read {what} in namespace {netns}: {detail}")
    return out.decode()
