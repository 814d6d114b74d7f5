"""Devstack start-up: seconds from ``python -m devstack up`` until every endpoint answers, with/without host.

Replaces the timing assertion a test used to make (a loaded machine made it fail, an idle one proved little).
Prints a machine calibration first, so figures from different machines can be compared: divide a start-up time
by the calibration to get it in "calibration units". Target from the devstack's design: ready in under 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout importable

from devstack.testing import loopback_config, run_devstack


def calibration() -> float:
    """Seconds for a fixed pure-Python workload (10 million loop iterations)."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def time_up(host: bool) -> float:
    """Seconds until one devstack (loopback VMs, optionally with the durable host) is ready."""
    with tempfile.TemporaryDirectory(prefix="alertcap-bench-up-") as tmp:
        config = loopback_config(Path(tmp) / "devstack.toml")
        started = time.monotonic()
        with run_devstack(Path(tmp) / "state", config_path=config, host=host):
            return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="start-ups per variant (default 3)")
    args = parser.parse_args()
    cal = calibration()
    print(f"calibration: 10M-iteration Python loop = {cal:.2f} s")
    for host in (False, True):
        times = [time_up(host) for _ in range(args.runs)]
        label = "with host" if host else "without host"
        print(f"devstack up {label}: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"({statistics.median(times) / cal:.1f} calibration units; target < 10 s)")


if __name__ == "__main__":
    main()
