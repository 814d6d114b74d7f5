"""The reliability suite at full size, on a devstack with the durable host and the real function app.

- storm: 1,000 alerts over 50 VMs from 20 concurrent clients inside one window, then 5 repeats of each
  delivery: runs, captures, blobs and emails per VM, 5xx count, webhook answer p50/p99 and their ratio to the
  answer time of a single alert on the idle stack (the baseline, measured in the same run);
- crash: 20 runs, `kill -9` of the host in each phase at least once and at random moments, the devstack
  restarting it: runs ended, capture blobs per run, orphan blobs, emails per run;
- faults: ARM answering 429 (with and without Retry-After), 500, 503 or dropping the connection on 20% of
  its calls, each for its own set of runs; an ACS outage of 2 minutes (the email must arrive after it ends);
  then a permanent ACS outage (the run must say "notification failed" once its email retry time, set to the
  outage plus one minute, has passed): runs, captures, blobs and emails per run;
- history: orchestration history events of a 5-hour capture and of a 5-minute one (the replay harness of
  tests/product, which drives the real orchestrator through the SDK; the devstack host's timers run on the
  wall clock, so a 5-hour run cannot be driven on it in a bench);
- calibration: SHA-256 of 1 MiB (median), so figures from different machines can be compared.

Run: .venv/bin/python bench/reliability.py [--vms 50 --alerts 1000 --clients 20 --repeats 5 --crash-runs 20
     --fault-runs 10 --acs-outage 120]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout importable
from devstack.paths import REPO_ROOT
from devstack.testing import AdminClient, DevstackState, run_devstack, wait_until

PHASES = ("locating", "cleaning", "creating", "capturing", "notifying")


def load(name: str, path: Path) -> ModuleType:
    """A helper module of the test suite, by path (the test folders are not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


payloads = load("product_payloads", REPO_ROOT / "tests" / "product" / "payloads.py")
kit = load("reliability_kit", REPO_ROOT / "tests" / "reliability" / "kit.py")


def calibration_ms() -> float:
    block = b"x" * (1 << 20)
    samples = []
    for _ in range(50):
        started = time.perf_counter()
        hashlib.sha256(block).digest()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def baseline_seconds(state: DevstackState, admin: AdminClient) -> float:
    """Median answer time of single alerts (each for a new VM) on the idle stack."""
    vms = kit.add_vms(admin, state, 5, "base")
    times = []
    for vm in vms:
        body = payloads.common_metric_static(targets=[vm.lower()], fired=kit.fired_now())
        (answer,) = asyncio.run(kit.post_alerts(state, [body], clients=1))
        times.append(answer.seconds)
    return statistics.median(times)


def storm(state: DevstackState, admin: AdminClient, args: argparse.Namespace, baseline: float) -> bool:
    started = time.perf_counter()
    result = kit.storm(state, admin, args.vms, args.alerts, args.clients, args.repeats, timeout=900)
    elapsed = time.perf_counter() - started
    p50, p99 = result.percentile(0.50), result.percentile(0.99)
    duplicated = sum(1 for n in result.captures.values() if n != 1) + sum(
        1 for n in result.blobs.values() if n != 1)
    emails_off = sum(1 for n in result.emails.values() if n != 1)
    print(f"storm: {len(result.answers)} deliveries ({args.alerts} alerts x {1 + args.repeats}) over "
          f"{args.vms} VMs from {args.clients} clients in {elapsed:.1f} s")
    print(f"storm: runs {len(result.runs)} (want {args.vms}), captures {sum(result.captures.values())}, "
          f"blobs {sum(result.blobs.values())}, emails {sum(result.emails.values())}, "
          f"5xx/no answer {result.server_errors}")
    print(f"storm: webhook answer p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; "
          f"baseline (one alert, idle) {baseline * 1000:.0f} ms; p99/baseline {p99 / baseline:.1f}x")
    return (len(result.runs) == args.vms and not duplicated and not emails_off
            and result.server_errors == 0)


def live_phases(state: DevstackState, ids: set[str]) -> dict[str, str]:
    phases = {}
    for run_id in ids:
        status = kit.run_status(state, run_id) or {}
        custom = status.get("customStatus") or {}
        if status.get("runtimeStatus") not in kit.TERMINAL and isinstance(custom, dict):
            phases[run_id] = custom.get("phase", "")
    return phases


def crash(state: DevstackState, admin: AdminClient, runs: int, seed: int = 9) -> bool:
    rng = random.Random(seed)
    vms = kit.add_vms(admin, state, runs, "crash")
    admin.add_fault({"service": "arm", "operation": "*", "delay": 0.5})  # phases long enough to be hit
    admin.add_fault({"service": "acs", "operation": "*", "delay": 1.0})
    ids: set[str] = set()
    hit: dict[str, int] = dict.fromkeys(PHASES, 0)
    kills = 0
    started = time.perf_counter()

    def kill_in(phases: dict[str, str]) -> None:
        nonlocal kills
        old = kit.kill_host(state)
        kills += 1
        for phase in set(phases.values()):
            if phase in hit:
                hit[phase] += 1
        kit.wait_host_back(state, old)

    for index, vm in enumerate(vms):
        body = payloads.common_metric_static(targets=[vm.lower()], fired=kit.fired_now())
        (answer,) = asyncio.run(kit.post_alerts(state, [body], clients=1))
        ids |= kit.run_ids([answer])
        if index < len(PHASES):  # one kill aimed at each phase first
            wanted = PHASES[index]
            try:
                found = wait_until(lambda w=wanted, i=frozenset(ids): (p := live_phases(state, set(i)))
                                   and w in p.values() and p,
                                   60, interval=0.05, message=f"a run in phase {wanted}")
            except AssertionError:
                continue
            kill_in(found)
        elif rng.random() < 0.5:  # then at random moments
            time.sleep(rng.uniform(0.2, 3.0))  # the random moment itself
            kill_in(live_phases(state, ids))
    done = kit.wait_for_runs(state, ids, timeout=600)
    elapsed = time.perf_counter() - started
    blobs = kit.blobs_per_vm(state, vms)
    captures = kit.captures_per_vm(admin, vms)
    emails = kit.emails_per_vm(admin, vms)
    ended = sum(1 for s in done.values() if s["runtimeStatus"] in kit.TERMINAL)
    succeeded = sum(1 for s in done.values() if (s.get("output") or {}).get("status") == "succeeded")
    duplicates = sum(1 for n in blobs.values() if n > 1) + sum(1 for n in captures.values() if n > 1)
    orphans = sum(max(0, n - 1) for n in blobs.values())
    lost = sum(1 for n in emails.values() if n == 0)
    doubled = sum(1 for n in emails.values() if n > 1)
    print(f"crash: {runs} runs, {kills} kill -9 of the host in {elapsed:.1f} s; phases hit "
          + ", ".join(f"{p} {n}" for p, n in hit.items()))
    one_blob = sum(1 for n in blobs.values() if n == 1)
    print(f"crash: runs ended {ended}/{runs} (succeeded {succeeded}), runs with exactly one blob "
          f"{one_blob}/{runs}, duplicates {duplicates}, orphan blobs {orphans}, "
          f"lost emails {lost}, doubled emails {doubled}, host restarts "
          f"{kit.health(state)['parts']['host']['restarts']}")
    admin.clear_faults()
    return ended == runs and duplicates == 0 and orphans == 0 and lost == 0 and doubled == 0 \
        and all(hit.values())


ARM_FAULTS = {
    "429 with Retry-After": {"status": 429, "retry_after": 1},
    "429": {"status": 429},
    "500": {"status": 500},
    "503": {"status": 503},
    "dropped connection": {"drop": True},
}
ACS_DOWN = {"service": "acs", "operation": "*", "status": 503, "retry_after": 0}


def start_runs(state: DevstackState, vms: list[str]) -> set[str]:
    bodies = [payloads.common_metric_static(targets=[vm.lower()], fired=kit.fired_now()) for vm in vms]
    return kit.run_ids(asyncio.run(kit.post_alerts(state, bodies, clients=len(bodies))))


def exactly_one(counts: dict[str, int]) -> int:
    return sum(1 for n in counts.values() if n == 1)


def arm_faults(state: DevstackState, admin: AdminClient, runs: int) -> bool:
    ok = True
    for label, fault in ARM_FAULTS.items():
        admin.clear_faults()
        vms = kit.add_vms(admin, state, runs, "flt")
        admin.add_fault({"service": "arm", "operation": "*", "ratio": 0.2, **fault})
        started = time.perf_counter()
        done = kit.wait_for_runs(state, start_runs(state, vms), timeout=600)
        fired = sum(f["fired"] for f in admin.faults())
        succeeded = sum(1 for s in done.values() if (s.get("output") or {}).get("status") == "succeeded")
        captures = exactly_one(kit.captures_per_vm(admin, vms))
        blobs = exactly_one(kit.blobs_per_vm(state, vms))
        emails = exactly_one(kit.emails_per_vm(admin, vms))
        print(f"faults: ARM {label} on 20% of calls ({fired} injected): {succeeded}/{runs} succeeded, "
              f"exactly one capture {captures}/{runs}, one blob {blobs}/{runs}, one email {emails}/{runs}, "
              f"in {time.perf_counter() - started:.1f} s")
        ok &= fired > 0 and succeeded == captures == blobs == emails == runs
    admin.clear_faults()
    return ok


def acs_outage(state: DevstackState, admin: AdminClient, outage_seconds: float) -> bool:
    """A run through an ACS outage of ``outage_seconds``: no email during it, one email after it."""
    admin.clear_faults()
    admin.add_fault(ACS_DOWN)
    vms = kit.add_vms(admin, state, 1, "acsout")
    (run_id,) = start_runs(state, vms)
    started = time.perf_counter()
    # the outage's length is the bench's input, not a synchronisation: ACS stays down for that long
    time.sleep(outage_seconds)
    during = kit.emails_per_vm(admin, vms)[vms[0]]
    admin.clear_faults("acs")
    output = kit.wait_for_runs(state, {run_id}, timeout=600)[run_id]["output"]
    emails = kit.emails_per_vm(admin, vms)[vms[0]]
    print(f"faults: ACS down {outage_seconds:.0f} s: emails during the outage {during}, after it {emails}; "
          f"run {output['status']!r}, notification {output.get('notification')!r} after "
          f"{output.get('email_attempts')} attempts, ended {time.perf_counter() - started:.0f} s after the "
          "outage began")
    return during == 0 and emails == 1 and output.get("notification") == "sent"


def acs_down_for_good(state: DevstackState, admin: AdminClient) -> bool:
    """A run while ACS never comes back: it must end saying the notification failed."""
    admin.clear_faults()
    admin.add_fault(ACS_DOWN)
    vms = kit.add_vms(admin, state, 1, "acsdown")
    started = time.perf_counter()
    (run_id,) = start_runs(state, vms)
    status = kit.wait_for_runs(state, {run_id}, timeout=900)[run_id]
    output = status["output"]
    emails = kit.emails_per_vm(admin, vms)[vms[0]]
    custom = status.get("customStatus") or {}
    print(f"faults: ACS down for good: run {output['status']!r} (custom status notification "
          f"{custom.get('notification')!r}), emails {emails}, after {output.get('email_attempts')} "
          f"attempts in {time.perf_counter() - started:.0f} s")
    admin.clear_faults()
    return output["status"] == "succeeded, notification failed" and emails == 0


def history() -> None:
    load("product_replay_harness", REPO_ROOT / "tests" / "product" / "replay_harness.py")
    replay_path = REPO_ROOT / "tests" / "product" / "test_orchestrator_replay.py"
    replay = load("bench_orchestrator_replay", replay_path)
    from core.schedule import status_check_offsets

    for label, limit in (("5-hour", 18000), ("5-minute", 300)):
        checks = len(status_check_offsets(limit, 300))
        azure = replay.FakeAzure(statuses=["Running"] * (checks - 1) + ["Stopped"])
        result = replay.run(azure, time_limit_seconds=limit, overrun_grace_seconds=300)
        print(f"history: {label} capture -> {len(result.history)} history events "
              f"({result.output['status_checks']} status checks)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--crash-runs", type=int, default=20)
    parser.add_argument("--fault-runs", type=int, default=10, help="runs per kind of ARM fault")
    parser.add_argument("--acs-outage", type=float, default=120.0, help="seconds ACS is down")
    parser.add_argument("--only", choices=("storm", "crash", "faults"), action="append",
                        help="run only these phases (repeatable); history always runs")
    args = parser.parse_args()
    print(f"calibration: sha256 of 1 MiB {calibration_ms():.2f} ms (median of 50)")
    history()
    conftest = load("reliability_conftest", REPO_ROOT / "tests" / "reliability" / "conftest.py")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        config = conftest.reliability_config(Path(tmp) / "devstack.toml", {
            **kit.FAST_SETTINGS, "REGION_CAPTURE_LIMIT": str(max(100, args.vms * 2)),
            "EMAIL_RETRY_SECONDS": str(int(args.acs_outage) + 60)})
        phases = set(args.only or ("storm", "crash", "faults"))
        with run_devstack(Path(tmp) / "ds", config_path=config, host=True, timeout=180) as state, \
                AdminClient(state, timeout=60) as admin:
            admin.reset()
            if "storm" in phases:
                ok &= storm(state, admin, args, baseline_seconds(state, admin))
                admin.reset()
            if "crash" in phases:
                ok &= crash(state, admin, args.crash_runs)
                admin.reset()
            if "faults" in phases:
                ok &= arm_faults(state, admin, args.fault_runs)
                ok &= acs_outage(state, admin, args.acs_outage)
                ok &= acs_down_for_good(state, admin)
    print("result: " + ("all invariants held" if ok else "AN INVARIANT WAS BROKEN"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
