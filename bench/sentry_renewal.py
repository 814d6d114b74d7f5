"""Renewal gap of an armed VM on the devstack: how long the VM goes uncaptured when the sentry renews.

Starts a devstack with the product (fast ARM polling), arms a VM whose session renews every few seconds, and
reads the sentry's measured gaps (time from starting to stop the old continuous capture to the new one
running) over several renewals. Calibration in the same run: the time of one plain capture create + stop
through the product's ARM client (what a renewal must at least do). Run:
`.venv/bin/python bench/sentry_renewal.py [--renewals 5]`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout importable

from devstack.testing import AdminClient, loopback_config, run_devstack, wait_until

SETTINGS = {"ARM_POLLING_INTERVAL_SECONDS": "0.1", "ACTIVITY_RETRY_INTERVAL_SECONDS": "0.5"}


def config_with_settings(path: Path) -> Path:
    """The loopback devstack config with the bench's app settings."""
    loopback_config(path)
    lines = "".join(f'{key} = "{value}"\n' for key, value in SETTINGS.items())
    path.write_text(path.read_text().replace("[app_settings]\n", "[app_settings]\n" + lines, 1))
    return path


def stop_and_create(state: object, vm: str) -> float:
    """Seconds for one plain capture create plus its stop through the SDK: what a renewal must at least do."""
    os.environ.update(state.azure_env())  # type: ignore[attr-defined]
    from devstack.arm.testing import WATCHER_RG, ArmClients

    arm = ArmClients.for_state(state, polling_interval=0.1)  # type: ignore[arg-type]
    timings = []
    for attempt in range(2):  # the first pays for the token and the connections: report the second
        started = time.monotonic()
        arm.create(f"bench-calibration-{attempt}", vm, filters=[{"protocol": "TCP", "localPort": "9"}])
        arm.network.packet_captures.begin_stop(WATCHER_RG, "NetworkWatcher_westeurope",
                                               f"bench-calibration-{attempt}", polling_interval=0.1).result()
        timings.append(time.monotonic() - started)
    return timings[-1]


def cpu_calibration() -> float:
    """Seconds for a sha256 of 64 MiB: the machine's speed in this run."""
    data = bytes(64 * 1024 * 1024)
    started = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renewals", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-renewal-") as tmp:
        config = config_with_settings(Path(tmp) / "devstack.toml")
        with run_devstack(Path(tmp) / "state", config_path=config, timeout=180) as state:
            admin = AdminClient(state)
            vm = (f"/subscriptions/{state.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
                  f"Microsoft.Compute/virtualMachines/vm-bench-{uuid.uuid4().hex[:6]}")
            admin.add_vm({"id": vm, "location": "westeurope"})
            calibration = stop_and_create(state, vm)
            base, key = state.function_host, state.master_key
            body = {"target": vm, "session_seconds": 60, "renew_margin_seconds": 56, "watch_seconds": 1,
                    "filters": [{"protocol": "TCP", "localPort": "9"}]}
            armed = httpx.post(f"{base}/api/sentry/arm", params={"code": key}, json=body, timeout=15)
            assert armed.status_code == 202, armed.text
            gaps: list[float] = []
            seen = 0

            def renewed() -> bool:
                nonlocal seen
                reply = httpx.get(f"{base}/api/sentry", params={"code": key}, timeout=15)
                sentries = reply.json()["sentries"]
                view = next((s for s in sentries if s["target"] == vm), None)
                if view and view["renewals"] > seen and view["last_gap_seconds"] is not None:
                    seen = view["renewals"]
                    gaps.append(view["last_gap_seconds"])
                return len(gaps) >= args.renewals

            started = time.monotonic()
            wait_until(renewed, 30 + 10 * args.renewals, interval=0.2, message="renewals")
            elapsed = time.monotonic() - started
            httpx.post(f"{base}/api/sentry/disarm", params={"code": key}, json={"target": vm}, timeout=15)
    print(f"renewals observed: {len(gaps)} in {elapsed:.1f} s (session renewed every ~4 s)")
    median = statistics.median(gaps)
    print(f"renewal gap: median {median:.2f} s, max {max(gaps):.2f} s, all {[round(g, 2) for g in gaps]}")
    print(f"calibration: one capture create + stop through the SDK {calibration:.2f} s "
          f"(gap / that = {median / calibration:.2f}); sha256 of 64 MiB {cpu_calibration():.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
