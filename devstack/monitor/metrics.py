"""The metrics the local Azure Monitor knows, and how each is read from a VM's own counters.

Azure names (what an alert payload carries) are kept apart from the config keys (`TcpSegmentsSent`,
`NetworkOutTotal`) so the payload says exactly what Azure would say:

- "Network Out Total" is the platform metric of `Microsoft.Compute/virtualMachines` (bytes out on all
  interfaces, aggregation Total). Locally: `/sys/class/net/<iface>/statistics/tx_bytes` of the VM's interface.
- "TCP segments sent" is the signal the original Network Watcher tutorial alerted on (the classic VM metric).
  Locally: `Tcp: OutSegs` from `/proc/net/snmp`, a per-network-namespace counter.

Both are cumulative counters; the value over a window is the difference between two samples.
"""

from __future__ import annotations

from dataclasses import dataclass

VM_METRIC_NAMESPACE = "Microsoft.Compute/virtualMachines"


@dataclass(frozen=True)
class MetricDefinition:
    """How one configurable metric appears in an Azure alert and where its counter lives."""

    key: str
    azure_name: str
    namespace: str
    unit: str
    time_aggregation: str


METRICS: dict[str, MetricDefinition] = {
    "TcpSegmentsSent": MetricDefinition(
        key="TcpSegmentsSent",
        azure_name="TCP segments sent",
        namespace=VM_METRIC_NAMESPACE,
        unit="Count",
        time_aggregation="Total",
    ),
    "NetworkOutTotal": MetricDefinition(
        key="NetworkOutTotal",
        azure_name="Network Out Total",
        namespace=VM_METRIC_NAMESPACE,
        unit="Bytes",
        time_aggregation="Total",
    ),
}


class CounterFormatError(ValueError):
    """A counter file did not have the expected shape."""


def metric_definition(key: str) -> MetricDefinition:
    """The definition of a config metric key; ValueError names the known keys when it is unknown."""
    try:
        return METRICS[key]
    except KeyError:
        raise ValueError(f"unknown metric {key!r}; known: {', '.join(METRICS)}") from None


def parse_snmp_counter(snmp_text: str, protocol: str = "Tcp", field: str = "OutSegs") -> int:
    """One counter from `/proc/net/snmp` text (a header line and a value line per protocol)."""
    prefix = f"{protocol}:"
    lines = [line.split() for line in snmp_text.splitlines() if line.startswith(prefix)]
    if len(lines) < 2:
        raise CounterFormatError(f"/proc/net/snmp has no {protocol} header and value lines")
    header, values = lines[0][1:], lines[1][1:]
    if field not in header or len(values) != len(header):
        raise CounterFormatError(f"/proc/net/snmp {protocol} line has no {field} column")
    return int(values[header.index(field)])


def parse_int_counter(text: str, what: str) -> int:
    """A sysfs counter file (one decimal integer)."""
    try:
        return int(text.strip())
    except ValueError:
        raise CounterFormatError(f"{what} is not an integer: {text.strip()[:40]!r}") from None
