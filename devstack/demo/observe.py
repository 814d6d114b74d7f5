"""What `make demo` watches while the product works: the monitor's journal, the run, captures, the outbox.

Every function takes the parsed `DIR/state.json` (see docs/ARCHITECTURE.md) and reads one thing; none of
them changes anything in the devstack.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dpkt
import httpx

from alertcap_cli.client import iter_dicts

DURABLE_PREFIX = "runtime/webhooks/durabletask"
_URL_RE = re.compile(r"https?://[^\s\"'<>]+")


def run_ids(webhook_response: Any) -> list[str]:
    """Ids of the runs a webhook answer says it started (`instanceId`, or `id` beside a status URL)."""
    found: list[str] = []
    for item in iter_dicts(webhook_response, depth=4):
        run_id = item.get("instanceId") or (item.get("id") if "statusQueryGetUri" in item else None)
        if isinstance(run_id, str) and run_id not in found:
            found.append(run_id)
    return found


def client(state: dict[str, Any], timeout: float = 10.0) -> httpx.AsyncClient:
    """An HTTP client trusting the devstack's CA bundle."""
    return httpx.AsyncClient(verify=state.get("ca_bundle") or True, timeout=timeout)


async def run_status(http: httpx.AsyncClient, state: dict[str, Any],
                     instance_id: str) -> dict[str, Any] | None:
    """A run's Durable status (runtimeStatus, customStatus, output) via the master key; None if unknown."""
    url = f"{state['function_host'].rstrip('/')}/{DURABLE_PREFIX}/instances/{quote(instance_id, safe='')}"
    params = {"taskHub": state["task_hub"]} if state.get("task_hub") else {}
    response = await http.get(url, params=params, headers={"x-functions-key": state.get("master_key", "")})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body = response.json()
    return body if isinstance(body, dict) else None


async def admin_list(http: httpx.AsyncClient, state: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """`GET <admin_url>/<what>` -> its `value` list (captures, emails)."""
    response = await http.get(f"{state['admin_url'].rstrip('/')}/{what}")
    response.raise_for_status()
    body = response.json()
    items = body.get("value", []) if isinstance(body, dict) else body
    return [item for item in items if isinstance(item, dict)]


def mentions(item: dict[str, Any], text: str) -> bool:
    """Whether `text` appears (case-insensitively) anywhere in the item's JSON."""
    return text.lower() in json.dumps(item).lower()


@dataclass(frozen=True)
class EmailFacts:
    """What the demo prints about the email that arrived."""

    subject: str
    recipients: list[str]
    links: list[str]
    pcap_link: str | None


def email_facts(email: dict[str, Any]) -> EmailFacts:
    """Subject, recipients and links of an outbox record (the pcap link is the one with a SAS signature)."""
    recipients = [r.get("address", "") for r in email.get("to", []) if isinstance(r, dict)]
    text = "\n".join(part for part in (email.get("plain_text"), email.get("html")) if isinstance(part, str))
    links = []
    for raw in _URL_RE.findall(text):
        link = raw.replace("&amp;", "&").rstrip(".,;)")
        if link not in links:
            links.append(link)
    pcap = next((link for link in links if "sig=" in link), None)
    subject = str(email.get("subject", ""))
    return EmailFacts(subject=subject, recipients=recipients, links=links, pcap_link=pcap)


async def download(http: httpx.AsyncClient, url: str, destination: Path) -> int:
    """Save `url` (the SAS link to the pcap blob) to `destination`; returns its size."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    response = await http.get(url)
    response.raise_for_status()
    destination.write_bytes(response.content)
    return len(response.content)


@dataclass(frozen=True)
class PcapSummary:
    """A one-line summary of a capture file."""

    packets: int
    tcp_segments: int
    hosts: list[str]
    ports: list[int]

    def line(self) -> str:
        """`412 packets, 398 TCP segments, 10.231.x.2 <-> 10.231.x.1, ports 40000`."""
        ports = ", ".join(str(p) for p in self.ports[:5]) + (" ..." if len(self.ports) > 5 else "")
        return (f"{self.packets} packets, {self.tcp_segments} TCP segments, "
                f"{' <-> '.join(self.hosts[:2]) or 'no IP hosts'}, ports {ports or '-'}")


def summarise_pcap(path: Path, sink_port: int | None = None) -> PcapSummary:
    """Count packets and TCP segments with dpkt; list the IPs seen and the server ports (or `sink_port`)."""
    packets = segments = 0
    hosts: dict[str, int] = {}
    ports: dict[int, int] = {}
    with path.open("rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        link = reader.datalink()
        for _, frame in reader:
            packets += 1
            ip = _ip_of(frame, link)
            if ip is None:
                continue
            for addr in (ip.src, ip.dst):
                text = _addr(addr)
                hosts[text] = hosts.get(text, 0) + 1
            if isinstance(ip.data, dpkt.tcp.TCP):
                tcp: Any = ip.data  # header fields made at run time (see _ip_of)
                segments += 1
                port = min(tcp.sport, tcp.dport) if sink_port is None else sink_port
                if sink_port is None or sink_port in (tcp.sport, tcp.dport):
                    ports[port] = ports.get(port, 0) + 1
    ranked_hosts = sorted(hosts, key=lambda h: -hosts[h])
    return PcapSummary(packets, segments, ranked_hosts, sorted(ports, key=lambda p: -ports[p]))


def _ip_of(frame: bytes, link: int) -> Any:
    try:
        if link == dpkt.pcap.DLT_EN10MB:
            packet = dpkt.ethernet.Ethernet(frame).data
        elif link == dpkt.pcap.DLT_LINUX_SLL:
            packet = dpkt.sll.SLL(frame).data
        elif link in (dpkt.pcap.DLT_RAW, 101):
            packet = dpkt.ip.IP(frame)
        else:
            return None
    except (dpkt.UnpackError, ValueError):
        return None
    # Any: dpkt makes header fields (src, sport, ...) at run time, so a type checker cannot see them
    return packet if isinstance(packet, dpkt.ip.IP) else None


def _addr(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET, raw) if len(raw) == 4 else socket.inet_ntop(socket.AF_INET6, raw)
