"""Durable host throughput: 3-activity chains, 100 started at once; chains/s, host CPU per chain, latency.

Starts the host (tests/host/apps/chaining) in a subprocess on a temp state dir and drives it only over HTTP:
each chain is one ``POST .../orchestrators/chain?timeout=..&pollingInterval=..`` that returns when the
instance completes, so a request's duration is the instance's start-to-complete latency.
Three phases: a burst phase (100 concurrent starts per round: throughput, and latency under that load, which
by Little's law is about concurrency / throughput), a paced phase (chains arriving at a steady 100/s, the
target throughput, as independent alerts would: the latency a run sees at that load) and an unloaded phase
(one chain at a time). Targets on the shared 2-core machine: >= 100 chains/s, p50 < 100 ms.

Figures from different machines are comparable through the calibration line: the time this machine takes for
a fixed pure-Python workload (a 10-million-iteration loop), measured before and after the run.
``--baseline PATH`` runs the host of another checkout (e.g. ``git worktree add ../base main``) side by side
in the same run, alternating rounds between the two, and prints this checkout's figures over the baseline's.

CPU time on a shared machine moves with the other work on it (the same round can take 50 % more CPU when the
cores are contended). ``--instructions`` adds a count that does not: each host runs under valgrind's callgrind
(``apt-get install valgrind``; about 50 times slower) for ``--instruction-chains`` chains after a warm-up, and
the bench prints the instructions per chain the host executed (all threads, user space: system calls are not
counted) and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devstack.host.testing import HostProcess, start_host  # noqa: E402

APP = Path("tests") / "host" / "apps" / "chaining"
CALIBRATION_LOOPS = 10_000_000


async def run_chain(session: aiohttp.ClientSession, url: str, code: str, wait: float = 60) -> float:
    """Start one chain and wait for it (up to ``wait`` seconds); returns seconds from request to output."""
    started = time.perf_counter()
    params = {"code": code, "timeout": f"{wait:g}", "pollingInterval": "1"}
    async with session.post(url, params=params, json=["a", "b", "c"]) as response:
        body = await response.json(content_type=None)
    elapsed = time.perf_counter() - started
    if response.status != 200 or body != ["Hello a!", "Hello b!", "Hello c!"]:
        raise RuntimeError(f"chain did not complete: {response.status} {str(body)[:200]}")
    return elapsed


async def run_round(host: HostProcess, concurrency: int, wait: float = 60) -> tuple[float, list[float]]:
    """``concurrency`` chains at once (a light aiohttp client); returns (wall seconds, latencies)."""
    url = f"{host.management_url}/orchestrators/chain"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=2 * wait)
    ) as session:
        started = time.perf_counter()
        latencies = await asyncio.gather(
            *(run_chain(session, url, host.master_key, wait) for _ in range(concurrency))
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


def calibration_seconds() -> float:
    """Seconds this machine takes for a fixed pure-Python workload (a 10-million-iteration loop)."""
    started = time.perf_counter()
    total = 0
    for value in range(CALIBRATION_LOOPS):
        total += value
    return time.perf_counter() - started


@dataclass
class Checkout:
    """One checkout's host under test and what was measured on it."""

    label: str
    root: Path
    host: HostProcess
    walls: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0
    sequential: list[float] = field(default_factory=list)
    paced: list[float] = field(default_factory=list)

    def burst_round(self, concurrency: int) -> None:
        """One burst round, adding its wall time, latencies and the host's CPU time."""
        cpu_before = cpu_seconds(self.host.state["pid"])
        wall, latencies = asyncio.run(run_round(self.host, concurrency))
        self.cpu += cpu_seconds(self.host.state["pid"]) - cpu_before
        self.walls.append(wall)
        self.latencies += latencies

    def cpu_ms_per_chain(self, concurrency: int) -> float:
        """Host CPU milliseconds per chain over the burst rounds."""
        return self.cpu / (concurrency * len(self.walls)) * 1000

    def throughput(self, concurrency: int) -> float:
        """Chains per second over the burst rounds."""
        return concurrency * len(self.walls) / sum(self.walls)


def start_checkout(label: str, root: Path, state_dir: Path) -> Checkout:
    """Start the host of the checkout at ``root`` (its own .venv's Python if it has one)."""
    python = root / ".venv" / "bin" / "python"
    host = start_host(
        root / APP,
        state_dir=state_dir,
        code_root=root,
        python=str(python) if python.exists() else sys.executable,
    )
    return Checkout(label, root, host)


def instructions_per_chain(label: str, root: Path, state_dir: Path, chains: int) -> float:
    """Run the checkout's host under callgrind: a warm-up round, then count the instructions of ``chains``
    chains started at once (instrumentation is switched on for them only); returns instructions per chain."""
    state_dir.mkdir(parents=True)
    out = state_dir / "callgrind.out"
    python = root / ".venv" / "bin" / "python"
    wrapper = state_dir / "python-under-callgrind"
    wrapper.write_text(
        "#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no "
        f'--callgrind-out-file={out} {python if python.exists() else sys.executable} "$@"\n'
    )
    wrapper.chmod(0o755)
    host = start_host(
        root / APP, state_dir=state_dir / "host", code_root=root, python=str(wrapper), timeout=600
    )
    try:
        pid = str(host.state["pid"])
        asyncio.run(run_round(host, 10, wait=1200))  # warm-up: imports, SQLite pages, valgrind's translations
        subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True)
        asyncio.run(run_round(host, chains, wait=1200))
        subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True)
    finally:
        host.stop(timeout=300)
    dump = Path(f"{out}.1").read_text()
    match = re.search(r"^(?:summary|totals): (\d+)", dump, re.M)
    if match is None:
        raise RuntimeError(f"{label}: no instruction total in {out}.1")
    return int(match[1]) / chains


def report(checkout: Checkout, args: argparse.Namespace) -> None:
    """Print one checkout's figures."""
    total, lat, paced, seq = (
        args.concurrency * args.rounds,
        checkout.latencies,
        checkout.paced,
        checkout.sequential,
    )
    print(f"{checkout.label} ({checkout.root}):")
    print(
        f"  throughput: {checkout.throughput(args.concurrency):.0f} chains/s "
        f"(best round {args.concurrency / min(checkout.walls):.0f}/s), {total} chains"
    )
    print(f"  host CPU per chain: {checkout.cpu_ms_per_chain(args.concurrency):.2f} ms")
    print(
        f"  start-to-complete latency under that load: p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms, "
        f"mean {statistics.mean(lat) * 1000:.0f} ms"
    )
    print(
        f"  at a steady {args.rate:.0f} chains/s ({args.paced} chains, open loop): "
        f"p50 {percentile(paced, 0.5) * 1000:.0f} ms, p99 {percentile(paced, 0.99) * 1000:.0f} ms"
    )
    print(
        f"  unloaded ({args.sequential} chains one at a time): "
        f"p50 {percentile(seq, 0.5) * 1000:.0f} ms, p99 {percentile(seq, 0.99) * 1000:.0f} ms"
    )


def main() -> int:
    """Calibrate, run warm-up + measured phases on each checkout (interleaved) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sequential", type=int, default=50, help="chains run one at a time for unloaded latency"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="offered load of the paced phase, chains/s")
    parser.add_argument("--paced", type=int, default=300, help="chains started in the paced phase")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout of this repo whose host runs side by side"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions per chain under valgrind's callgrind (noise-free, slow)",
    )
    parser.add_argument("--instruction-chains", type=int, default=100, help="chains counted under callgrind")
    args = parser.parse_args()
    if args.baseline is not None and not (args.baseline / "devstack" / "host").is_dir():
        parser.error(f"--baseline {args.baseline}: not a checkout of this repository (no devstack/host)")
    if args.instructions and not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    calibration = [calibration_seconds()]
    with tempfile.TemporaryDirectory(prefix="host-bench-") as state, ExitStack() as hosts:
        checkouts = [start_checkout("this checkout", REPO, Path(state) / "this")]
        hosts.callback(checkouts[0].host.stop)
        if args.baseline is not None:
            checkouts.append(start_checkout("baseline", args.baseline.resolve(), Path(state) / "baseline"))
            hosts.callback(checkouts[1].host.stop)
        for checkout in checkouts:
            asyncio.run(run_round(checkout.host, 10))  # warm-up: imports, connections, SQLite pages
        for _ in range(args.rounds):
            for checkout in checkouts:
                checkout.burst_round(args.concurrency)
        for _ in range(args.sequential):
            for checkout in checkouts:
                checkout.sequential.append(asyncio.run(run_round(checkout.host, 1))[1][0])
        for checkout in checkouts:
            checkout.paced = asyncio.run(run_paced(checkout.host, args.rate, args.paced))
    counts: list[float] = []
    if args.instructions:
        with tempfile.TemporaryDirectory(prefix="host-bench-callgrind-") as state:
            for checkout in checkouts:
                counts.append(
                    instructions_per_chain(
                        checkout.label, checkout.root, Path(state) / str(len(counts)), args.instruction_chains
                    )
                )
    calibration.append(calibration_seconds())
    print(
        f"host throughput: 3-activity chains, {args.concurrency} concurrent starts x {args.rounds} rounds "
        f"per checkout (load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"  calibration: {CALIBRATION_LOOPS:,}-iteration Python loop {min(calibration):.2f} s "
        f"(before {calibration[0]:.2f} s, after {calibration[1]:.2f} s)"
    )
    for index, checkout in enumerate(checkouts):
        report(checkout, args)
        if counts:
            print(
                f"  instructions per chain (callgrind, {args.instruction_chains} chains at once): "
                f"{counts[index] / 1e6:.2f} million"
            )
    if len(checkouts) == 2:
        this, base = checkouts
        cpu_ratio = base.cpu_ms_per_chain(args.concurrency) / this.cpu_ms_per_chain(args.concurrency)
        throughput_ratio = this.throughput(args.concurrency) / base.throughput(args.concurrency)
        print(
            f"this checkout vs baseline: host CPU per chain {cpu_ratio:.2f}x lower (baseline / this), "
            f"throughput {throughput_ratio:.2f}x (this / baseline)"
        )
        if counts:
            print(f"  instructions per chain {counts[1] / counts[0]:.2f}x fewer (baseline / this)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
