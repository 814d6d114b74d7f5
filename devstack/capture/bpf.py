"""Packet-capture `filters` (the Network Watcher notation) translated to a tcpdump/BPF expression.

A filter is `{protocol, localIPAddress, remoteIPAddress, localPort, remotePort}`; every field is optional and
`protocol` is `TCP`, `UDP` or `Any` (the default). IPs and ports are a single value, a range `a-b`, or a list
`a;b;` (mixing ranges and lists is not supported, as in Azure). "Local" is the VM's side, so a filter
matches a packet in either direction: local fields on the source and remote fields on the destination,
or the reverse.
Several filters are OR-ed. An empty list captures everything.

What BPF cannot express, or what Azure rejects, raises `FilterError` (the ARM layer answers 400).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

PROTOCOLS = {"tcp": "tcp", "udp": "udp", "any": ""}
FILTER_FIELDS = ("protocol", "localIPAddress", "remoteIPAddress", "localPort", "remotePort")
MAX_LIST_ITEMS = 64


class FilterError(ValueError):
    """A filter BPF cannot express or Azure rejects; `field` names the offending property."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def filters_to_bpf(filters: Sequence[Mapping[str, Any]]) -> str:
    """The BPF expression capturing what any of `filters` matches ('' = capture everything)."""
    clauses = [_filter_clause(f, i) for i, f in enumerate(filters)]
    if not clauses or any(c == "" for c in clauses):
        return ""
    return clauses[0] if len(clauses) == 1 else " or ".join(f"({c})" for c in clauses)


def _filter_clause(spec: Mapping[str, Any], index: int) -> str:
    where = f"filters[{index}]"
    if not isinstance(spec, Mapping):
        raise FilterError(where, f"{where} must be an object")
    unknown = sorted(set(spec) - set(FILTER_FIELDS))
    if unknown:
        raise FilterError(f"{where}.{unknown[0]}", f"{where} has an unknown property '{unknown[0]}'")
    proto = _protocol(spec.get("protocol"), f"{where}.protocol")
    local_ip = _ips(spec.get("localIPAddress"), f"{where}.localIPAddress")
    remote_ip = _ips(spec.get("remoteIPAddress"), f"{where}.remoteIPAddress")
    local_port = _ports(spec.get("localPort"), f"{where}.localPort")
    remote_port = _ports(spec.get("remotePort"), f"{where}.remotePort")
    outbound = _and(_qualify("src", local_ip, local_port), _qualify("dst", remote_ip, remote_port))
    inbound = _and(_qualify("dst", local_ip, local_port), _qualify("src", remote_ip, remote_port))
    # outbound == inbound only when there are no addresses or ports at all
    direction = outbound if outbound == inbound else f"({outbound}) or ({inbound})"
    if (local_port or remote_port) and not proto:
        proto = "(tcp or udp)"
    return _and(proto, f"({direction})" if direction and proto else direction)


def _and(*parts: str) -> str:
    return " and ".join(p for p in parts if p)


def _qualify(direction: str, ips: list[str], ports: list[str]) -> str:
    host = _any_of([f"{direction} {ip}" for ip in ips])
    port = _any_of([f"{direction} {p}" for p in ports])
    return _and(host, port)


def _any_of(terms: list[str]) -> str:
    if len(terms) <= 1:
        return terms[0] if terms else ""
    return "(" + " or ".join(terms) + ")"


def _protocol(value: Any, field: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value.lower() not in PROTOCOLS:
        raise FilterError(field, f"{field} must be one of TCP, UDP, Any; got {value!r}")
    return PROTOCOLS[value.lower()]


def _split(value: Any, field: str) -> tuple[str, list[str]]:
    """('single'|'range'|'list', items) for a filter value; ('', []) when absent."""
    if value is None or value == "":
        return "", []
    if not isinstance(value, str):
        raise FilterError(field, f"{field} must be a string, got {value!r}")
    text = value.strip()
    has_list, has_range = ";" in text, "-" in text
    if has_list and has_range:
        raise FilterError(field, f"{field} mixes a range and a list ({text!r}), which is not supported")
    if has_list:
        items = [item.strip() for item in text.split(";") if item.strip()]
        if not items:
            raise FilterError(field, f"{field} is an empty list")
        if len(items) > MAX_LIST_ITEMS:
            raise FilterError(field, f"{field} lists more than {MAX_LIST_ITEMS} values")
        return "list", items
    if has_range:
        low, _, high = text.partition("-")
        return "range", [low.strip(), high.strip()]
    return "single", [text]


def _ips(value: Any, field: str) -> list[str]:
    kind, items = _split(value, field)
    if not kind:
        return []
    try:
        addresses = [ipaddress.ip_address(item) for item in items]
    except ValueError as exc:
        raise FilterError(field, f"{field} holds an invalid IP address: {exc}") from exc
    if kind != "range":
        return [f"host {a}" for a in addresses]
    low, high = addresses
    if low.version != high.version or int(low) > int(high):
        raise FilterError(field, f"{field} range {value!r} is not an ascending range of one IP version")
    networks = list(ipaddress.summarize_address_range(low, high))
    if len(networks) > MAX_LIST_ITEMS:
        raise FilterError(field, f"{field} range {value!r} needs more than {MAX_LIST_ITEMS} BPF networks")
    return [f"net {n}" if n.num_addresses > 1 else f"host {n.network_address}" for n in networks]


def _ports(value: Any, field: str) -> list[str]:
    kind, items = _split(value, field)
    if not kind:
        return []
    numbers = []
    for item in items:
        if not item.isdigit() or not 0 <= int(item) <= 65535:
            raise FilterError(field, f"{field} holds an invalid port {item!r} (0-65535)")
        numbers.append(int(item))
    if kind == "range":
        low, high = numbers
        if low > high:
            raise FilterError(field, f"{field} range {value!r} is not ascending")
        return [f"portrange {low}-{high}"]
    return [f"port {n}" for n in numbers]
