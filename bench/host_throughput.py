"""Durable host throughput: 3-activity chains, 100 started at once; chains/s and start-to-complete latency.

Starts the host (tests/host/apps/chaining) in a subprocess on a temp state dir and drives it only over HTTP:
each chain is one ``POST .../orchestrators/chain?timeout=..&pollingInterval=..`` that returns when the
instance completes, so a request's duration is the instance's start-to-complete latency.
Three phases: a burst phase (100 concurrent starts per round: throughput, and latency under that load, which
by Little's law is about concurrency / throughput), a paced phase (chains arriving at a steady 100/s, the
target throughput, as independent alerts would: the latency a run sees at that load) and an unloaded phase
(one chain at a time). Targets on the shared 2-core machine: >= 100 chains/s, p50 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devstack.host.testing import HostProcess, start_host  # noqa: E402

APP = REPO / "tests" / "host" / "apps" / "chaining"


async def run_chain(session: aiohttp.ClientSession, url: str, code: str) -> float:
    """Start one chain and wait for it; returns seconds from request to completed output."""
    started = time.perf_counter()
    params = {"code": code, "timeout": "60", "pollingInterval": "1"}
    async with session.post(url, params=params, json=["a", "b", "c"]) as response:
        body = await response.json(content_type=None)
    elapsed = time.perf_counter() - started
    if response.status != 200 or body != ["Hello a!", "Hello b!", "Hello c!"]:
        raise RuntimeError(f"chain did not complete: {response.status} {str(body)[:200]}")
    return elapsed


async def run_round(host: HostProcess, concurrency: int) -> tuple[float, list[float]]:
    """``concurrency`` chains at once (a light aiohttp client); returns (wall seconds, latencies)."""
    url = f"{host.management_url}/orchestrators/chain"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        started = time.perf_counter()
        latencies = await asyncio.gather(
            *(run_chain(session, url, host.master_key) for _ in range(concurrency))
        )
        return time.perf_counter() - started, list(latencies)


async def run_paced(host: HostProcess, rate: float, count: int) -> list[float]:
    """Open-loop load: start ``count`` chains at a steady ``rate`` per second, whatever earlier ones are doing
    (as independent alerts arrive); returns each chain's start-to-complete latency."""
    url = f"{host.management_url}/orchestrators/chain"
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        loop = asyncio.get_running_loop()
        first = loop.time()
        tasks = []
        for index in range(count):
            await asyncio.sleep(max(0.0, first + index / rate - loop.time()))  # the arrival schedule
            tasks.append(asyncio.create_task(run_chain(session, url, host.master_key)))
        return list(await asyncio.gather(*tasks))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report host CPU per chain."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> int:
    """Run warm-up + measured rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sequential", type=int, default=50, help="chains run one at a time for unloaded latency"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="offered load of the paced phase, chains/s")
    parser.add_argument("--paced", type=int, default=300, help="chains started in the paced phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="host-bench-") as state:
        host = start_host(APP, state_dir=Path(state))
        try:
            asyncio.run(run_round(host, 10))  # warm-up: imports, connections, SQLite pages
            walls, latencies = [], []
            cpu_before = cpu_seconds(host.state["pid"])
            for _ in range(args.rounds):
                wall, round_latencies = asyncio.run(run_round(host, args.concurrency))
                walls.append(wall)
                latencies += round_latencies
            host_cpu = cpu_seconds(host.state["pid"]) - cpu_before
            sequential = [asyncio.run(run_round(host, 1))[1][0] for _ in range(args.sequential)]
            paced = asyncio.run(run_paced(host, args.rate, args.paced))
        finally:
            host.stop()
    total = args.concurrency * args.rounds
    print(
        f"host throughput: {total} chains of 3 activities, "
        f"{args.concurrency} concurrent starts x {args.rounds} rounds"
    )
    print(
        f"  throughput: {total / sum(walls):.0f} chains/s (best round {args.concurrency / min(walls):.0f}/s)"
    )
    print(f"  host CPU per chain: {host_cpu / total * 1000:.1f} ms (load average {os.getloadavg()[0]:.1f})")
    print(
        f"  start-to-complete latency under that load: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.0f} ms"
    )
    print(
        f"  start-to-complete latency at a steady {args.rate:.0f} chains/s ({args.paced} chains, open loop): "
        f"p50 {percentile(paced, 0.5) * 1000:.0f} ms, p99 {percentile(paced, 0.99) * 1000:.0f} ms"
    )
    print(
        f"  start-to-complete latency unloaded ({args.sequential} chains one at a time): "
        f"p50 {percentile(sequential, 0.5) * 1000:.0f} ms, p99 {percentile(sequential, 0.99) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
