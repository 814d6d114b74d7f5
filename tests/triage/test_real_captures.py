"""tshark as the oracle on real captures: tcpdump (the devstack's capture agent) in a network namespace and
on loopback, with TCP, UDP and ICMP traffic."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import triage_oracle as oracle

from core.triage import summarize_file
from devstack.capture import netns
from devstack.capture.agent import CaptureAgent, CaptureSpec
from devstack.common.clock import Clock
from devstack.config import VmConfig

TRAFFIC = """
import socket, sys
host, tcp_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(4):
    with socket.create_connection((host, tcp_port)) as conn:
        conn.sendall(b"t" * (500 * (i + 1)))
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
    for i in range(6):
        udp.sendto(b"u" * (40 + i), (host, udp_port))
"""


def spec(tmp_path: Path, name: str, interface: str, namespace: str | None = None) -> CaptureSpec:
    return CaptureSpec(capture_id=name, interface=interface, netns=namespace, snaplen=0, bpf="",
                       time_limit_s=600, total_bytes=0, storage_path=f"https://blob.invalid/c/{name}.cap",
                       file_path=tmp_path / f"{name}.cap")


class Sinks:
    """A TCP listener that reads everything and a UDP socket, on one address."""

    def __init__(self, host: str) -> None:
        self.tcp = socket.create_server((host, 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, 0))
        self.ports = (self.tcp.getsockname()[1], self.udp.getsockname()[1])

    async def drain(self, connections: int) -> None:
        for _ in range(connections):
            conn, _ = await asyncio.to_thread(self.tcp.accept)
            with conn:
                while await asyncio.to_thread(conn.recv, 65536):
                    pass

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


async def capture_traffic(agent: CaptureAgent, capture: CaptureSpec, host: str,
                          argv_prefix: list[str]) -> tuple[Path, tuple[int, int]]:
    """Capture while a client (run with ``argv_prefix``) sends TCP and UDP to sinks on ``host``."""
    sinks = Sinks(host)
    try:
        session = await agent.start(capture)
        assert session.status == "Running", session.stderr_tail
        drain = asyncio.create_task(sinks.drain(4))
        await asyncio.to_thread(subprocess.run, [*argv_prefix, sys.executable, "-c", TRAFFIC, host,
                                                 *map(str, sinks.ports)], check=True, timeout=30)
        await asyncio.wait_for(drain, 30)
        await agent.stop(session)
    finally:
        sinks.close()
    return capture.file_path, sinks.ports


@pytest.mark.parametrize("interface", ["lo", "any"])
async def test_loopback_capture_matches_tshark(tmp_path: Path, interface: str) -> None:
    agent = CaptureAgent(Clock(), None)
    try:
        path, _ = await capture_traffic(agent, spec(tmp_path, f"lo-{interface}", interface), "127.0.0.1", [])
    finally:
        await agent.close()
    oracle.assert_matches_tshark(path)
    summary = summarize_file(path)  # a loaded tcpdump may not have written the last packets when stopped
    assert summary.tcp.syns >= 1 and summary.tcp.segments > summary.tcp.syns


@pytest.mark.netns
async def test_namespace_capture_matches_tshark(tmp_path: Path) -> None:
    name = f"alertcap-tri{os.getpid() % 100000}"
    vm = VmConfig(id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/trivm",
                  name="trivm", subscription_id="s", resource_group="rg", location="westeurope", netns=name)
    config = SimpleNamespace(vms=[vm], scale_sets=[])
    network = (await asyncio.to_thread(netns.ensure_namespaces, config))[name]
    agent = CaptureAgent(Clock(), None)
    try:
        capture = spec(tmp_path, "ns", network.inner_interface, network.namespace)
        path, (tcp_port, udp_port) = await capture_traffic(agent, capture, network.outer_ip,
                                                           network.exec_argv([]))
    finally:
        await agent.close()
        await asyncio.to_thread(netns.teardown_namespaces, config)
    oracle.assert_matches_tshark(path)
    summary = summarize_file(path)
    assert summary.tcp.syns >= 1
    ports = {(p.protocol, p.port): p.conversations for p in summary.top_ports}
    assert 1 <= ports[("TCP", tcp_port)] <= 4 and set(ports) <= {("TCP", tcp_port), ("UDP", udp_port)}
    assert summary.top_talkers_by_bytes[0].address in (network.outer_ip, network.inner_ip)
