"""The capture agent: a real tcpdump on loopback and in a network namespace, driven by the devstack clock."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import dpkt
import pytest

from devstack.capture import netns
from devstack.capture.agent import CaptureAgent
from devstack.capture.bpf import filters_to_bpf
from devstack.capture.testing import Listener, send, until
from devstack.capture.testing import capture_spec as spec
from devstack.common.clock import Clock
from devstack.config import VmConfig


def ports_in(path: Path) -> set[int]:
    """TCP ports of every packet in a pcap (reading it also proves it is a valid pcap)."""
    seen = set()
    with path.open("rb") as fh:
        for _, frame in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(frame).data
            if isinstance(ip.data, dpkt.tcp.TCP):
                seen |= {ip.data.sport, ip.data.dport}
    return seen


@pytest.fixture
async def agent(tmp_path):
    uploads: dict[str, bytes] = {}
    clock = Clock(manual=True, start=1_700_000_000)
    agent = CaptureAgent(clock, lambda url, path: uploads.__setitem__(url, path.read_bytes()))
    agent.uploads = uploads
    yield agent
    await agent.close()


async def test_manual_stop_flushes_filtered_packets_and_uploads(agent, tmp_path):
    wanted, other = Listener(), Listener()
    try:
        bpf = filters_to_bpf([{"protocol": "TCP", "localPort": str(wanted.port)}])
        session = await agent.start(spec(tmp_path, "manual", bpf))
        assert session.status == "Running" and session.start_time == agent.clock.now()
        for _ in range(3):
            await asyncio.to_thread(send, wanted.port)
            await asyncio.to_thread(send, other.port)
        await agent.stop(session)
    finally:
        wanted.close()
        other.close()
    assert (session.status, session.stop_reason, session.errors) == ("Stopped", "Manual", [])
    ports = ports_in(session.spec.file_path)
    assert wanted.port in ports and other.port not in ports
    assert agent.uploads[session.spec.storage_path] == session.spec.file_path.read_bytes()
    assert session.process.returncode is not None


async def test_time_limit_follows_the_clock(agent, tmp_path):
    session = await agent.start(spec(tmp_path, "timed", time_limit=30))
    agent.clock.advance(29)
    passes = agent.ticks
    await asyncio.wait_for(until(lambda: agent.ticks >= passes + 3), 5)  # the supervisor looked 3 times
    assert session.status == "Running"
    agent.clock.advance(1)
    await asyncio.wait_for(session.finished.wait(), 5)
    assert (session.status, session.stop_reason) == ("Stopped", "TimeExceeded")


async def test_total_bytes_stops_early_and_file_stays_within_the_limit(agent, tmp_path):
    listener = Listener()
    try:
        session = await agent.start(spec(tmp_path, "bytes", f"tcp port {listener.port}", total_bytes=3000))
        for _ in range(40):
            if session.finished.is_set():
                break
            await asyncio.to_thread(send, listener.port, b"y" * 500)
        await asyncio.wait_for(session.finished.wait(), 5)
    finally:
        listener.close()
    assert (session.status, session.stop_reason) == ("Stopped", "SizeExceeded")
    size = session.spec.file_path.stat().st_size
    assert 24 < size <= 3000
    assert listener.port in ports_in(session.spec.file_path)


async def test_snaplen_truncates_packets(agent, tmp_path):
    listener = Listener()
    try:
        session = await agent.start(spec(tmp_path, "snap", f"tcp port {listener.port}", snaplen=60))
        await asyncio.to_thread(send, listener.port, b"z" * 1000)
        await agent.stop(session)
    finally:
        listener.close()
    with session.spec.file_path.open("rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        lengths = [len(frame) for _, frame in reader]
    assert reader.snaplen == 60
    assert lengths and max(lengths) <= 60  # the 1000-byte segment was cut


async def test_unknown_interface_is_a_capture_failure(agent, tmp_path):
    session = await agent.start(spec(tmp_path, "bad", interface="nosuchif0"))
    assert (session.status, session.errors) == ("Error", ["CaptureFailed"])
    assert any("nosuchif0" in line for line in session.stderr_tail)


async def test_tcpdump_killed_from_outside_is_agent_stopped(agent, tmp_path):
    session = await agent.start(spec(tmp_path, "killed"))
    subprocess.run(["kill", "-KILL", str(session.process.pid)], check=True)
    await asyncio.wait_for(session.finished.wait(), 5)
    assert (session.status, session.errors) == ("Error", ["AgentStopped"])


async def test_failed_upload_is_storage_failed(tmp_path):
    def refuse(url: str, path: Path) -> None:
        raise OSError("storage unreachable")

    agent = CaptureAgent(Clock(), refuse)
    try:
        session = await agent.start(spec(tmp_path, "noupload"))
        await agent.stop(session)
    finally:
        await agent.close()
    assert (session.status, session.errors) == ("Error", ["StorageFailed"])


async def test_close_leaves_no_tcpdump(tmp_path):
    agent = CaptureAgent(Clock(), None)
    sessions = [await agent.start(spec(tmp_path, f"c{i}")) for i in range(3)]
    await agent.close()
    assert all(s.process.returncode is not None for s in sessions)


def test_namespace_addresses_are_deterministic():
    first = netns.networks_for(["alertcap-b", "alertcap-a"])
    again = netns.networks_for(["alertcap-a", "alertcap-b"])
    assert first == again
    a, b = first["alertcap-a"], first["alertcap-b"]
    assert a.inner_ip != b.inner_ip and a.outer_interface != b.outer_interface
    assert a.inner_ip.startswith("10.231.") and len(a.outer_interface) <= 15
    assert a.exec_argv(["true"]) == ["ip", "netns", "exec", "alertcap-a", "true"]


@pytest.mark.netns
async def test_capture_inside_a_namespace(tmp_path):
    vm = VmConfig(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/nsvm",
        name="nsvm",
        subscription_id="s",
        resource_group="rg",
        location="westeurope",
        netns="alertcap-agenttest",
    )
    config = SimpleNamespace(vms=[vm], scale_sets=[])
    network = (await asyncio.to_thread(netns.ensure_namespaces, config))["alertcap-agenttest"]
    agent = CaptureAgent(Clock(), None)
    wanted, other = Listener(network.outer_ip), Listener(network.outer_ip)
    try:
        assert netns.ensure_namespaces(config) == {"alertcap-agenttest": network}  # idempotent
        before = network.counters()
        bpf = filters_to_bpf([{"protocol": "TCP", "remotePort": str(wanted.port)}])
        session = await agent.start(
            spec(tmp_path, "ns", bpf, interface=network.inner_interface, netns=network.namespace)
        )
        assert session.status == "Running", session.stderr_tail
        client = (
            f"import socket\nfor p in ({wanted.port}, {other.port}):\n"
            f" socket.create_connection(('{network.outer_ip}', p)).sendall(b'q' * 300)\n"
        )
        await asyncio.to_thread(subprocess.run, network.exec_argv([sys.executable, "-c", client]), check=True)
        await agent.stop(session)
        assert network.counters()["tx_packets"] > before["tx_packets"]
    finally:
        wanted.close()
        other.close()
        await agent.close()
        await asyncio.to_thread(netns.teardown_namespaces, config)
    ports = ports_in(session.spec.file_path)
    assert wanted.port in ports and other.port not in ports
    assert not network.exists()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert network.outer_interface not in links
