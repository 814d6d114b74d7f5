"""`python -m devstack.demo` end to end: traffic -> alert -> run -> capture -> email -> pcap, no leftovers."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dpkt
import pytest

from devstack.paths import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.netns, pytest.mark.timeout(240)]


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_make_demo_runs_end_to_end_and_cleans_up(tmp_path: Path):
    state_dir, captures = tmp_path / "state", tmp_path / "captures"
    started = time.monotonic()
    demo = subprocess.Popen(
        [sys.executable, "-m", "devstack.demo", "--plain", "--state-dir", str(state_dir),
         "--captures-dir", str(captures)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        output, errors = demo.communicate(timeout=200)
    finally:
        if demo.poll() is None:  # interrupted or timed out: let the demo clean up like Ctrl-C would
            demo.send_signal(signal.SIGINT)
            demo.wait(timeout=60)
    elapsed = time.monotonic() - started
    log_file = state_dir / "devstack.log"
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    assert demo.returncode == 0, f"{output[-3000:]}\n{errors[-2000:]}\n--- devstack.log ---\n{log[-4000:]}"
    assert elapsed < 120, f"the demo took {elapsed:.0f}s"

    assert "alert: Fired 'vm-demo-tcp-segments-sent'" in output
    assert "run: alertcap-" in output and "Completed, succeeded" in output
    assert "email: '[alertcap] Packet capture ready: vm-demo" in output
    # vm-demo is armed before the burst; its unarmed twin gets the same bursts (issue 12)
    armed = re.search(r"armed vm-demo: ([\d.]+)% \((\d+) of (\d+) burst packets", output)
    unarmed = re.search(r"unarmed vm-unarmed: ([\d.]+)% \((\d+) of (\d+) burst packets", output)
    assert armed and unarmed, output[-2000:]
    assert int(armed.group(3)) > 0 and float(armed.group(1)) >= float(unarmed.group(1))

    [pcap] = captures.glob("vm-demo-*.cap")
    assert str(pcap.name) in output
    read = subprocess.run(["tcpdump", "-nr", str(pcap)], capture_output=True, text=True, timeout=30)
    assert read.returncode == 0, read.stderr
    sink_port = int(output.split("ports ")[-1].split()[0].rstrip(","))
    with pcap.open("rb") as fh:
        segments = [eth.data.data for _, raw in dpkt.pcap.Reader(fh)
                    for eth in [dpkt.ethernet.Ethernet(raw)]
                    if isinstance(eth.data, dpkt.ip.IP) and isinstance(eth.data.data, dpkt.tcp.TCP)]
    burst = [s for s in segments if s.dport == sink_port and b"alertcap demo burst" in s.data]
    assert len(burst) >= 50, f"{len(burst)} burst segments to port {sink_port} in {pcap}"
    with pcap.open("rb") as fh:  # the demo prints the verdict: the burst's port and its sender
        senders = {ip.src for _, raw in dpkt.pcap.Reader(fh) for ip in [dpkt.ethernet.Ethernet(raw).data]
                   if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP)
                   and ip.data.dport == sink_port}
    (sender,) = senders
    (verdict,) = [line for line in output.splitlines() if line.startswith("verdict: ")]
    assert f"TCP to port {sink_port} " in verdict, verdict
    assert verdict.endswith(f"top sender {socket.inet_ntoa(sender)}"), verdict

    assert not (state_dir / "state.json").exists()
    ours = f"alertcap-demo{demo.pid % 100000}-"  # the demo's private namespace names (other runs may be live)
    assert ours in output
    assert [name for name in namespaces() if name.startswith(ours)] == []
    leftovers = subprocess.run(["pgrep", "-f", str(state_dir)], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left behind: {leftovers}"
