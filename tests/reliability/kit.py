"""Helpers of the reliability suite (and bench/reliability.py): post alerts, wait for runs, count captures,
blobs and emails per VM, kill the host and wait for the devstack to restart it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from core.naming import window_start
from core.orchestration import TERMINAL_RUNTIME_STATUSES
from devstack.testing import AdminClient, DevstackState, wait_until

RUN_TIMEOUT = 90.0
TERMINAL = TERMINAL_RUNTIME_STATUSES  # bench/reliability.py reads it as kit.TERMINAL
CAPTURE_CONTAINER = "network-watcher-logs"
FAST_SETTINGS = {
    "CAPTURE_TIME_LIMIT_SECONDS": "3",
    "ARM_POLLING_INTERVAL_SECONDS": "0.1",
    "ACTIVITY_RETRY_INTERVAL_SECONDS": "0.5",
    "ACTIVITY_RETRY_ATTEMPTS": "3",
    "OVERRUN_GRACE_SECONDS": "30",
    "EMAIL_RETRY_SECONDS": "25",
}


def fired_now(offset_seconds: int = 0) -> str:
    """A fired time inside the current 15-minute window (never in the future)."""
    start = window_start(datetime.now(UTC), 900)
    return (start + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_vms(admin: AdminClient, state: DevstackState, count: int, tag: str = "rel") -> list[str]:
    """``count`` new VMs, unique to the caller (durable instance ids outlive a devstack reset)."""
    prefix = f"vm-{tag}-{uuid.uuid4().hex[:6]}"
    ids = []
    for index in range(count):
        vm_id = (f"/subscriptions/{state.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
                 f"Microsoft.Compute/virtualMachines/{prefix}-{index:03d}")
        admin.add_vm({"id": vm_id, "location": "westeurope"})
        ids.append(vm_id)
    return ids


@dataclass
class Answer:
    """One webhook delivery's answer."""

    status: int
    seconds: float
    body: Any


async def post_alerts(state: DevstackState, bodies: Sequence[Any], clients: int) -> list[Answer]:
    """POST every body to ``/api/alerts`` from ``clients`` concurrent connections; connection errors count
    as status 0."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    answers: list[Answer] = []
    url = f"{state.function_host}/api/alerts"

    async def client() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await http.post(url, params={"code": state.function_key}, json=body)
                    answer = Answer(response.status_code, time.perf_counter() - started, _json(response))
                except httpx.HTTPError as exc:
                    answer = Answer(0, time.perf_counter() - started, repr(exc))
                answers.append(answer)

    await asyncio.gather(*(client() for _ in range(clients)))
    return answers


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def run_ids(answers: Sequence[Answer]) -> set[str]:
    """Every instance id the webhook reported."""
    return {run["instanceId"] for a in answers if isinstance(a.body, dict) for run in a.body.get("runs", [])}


def run_status(state: DevstackState, instance_id: str) -> dict[str, Any] | None:
    """The management API's status of one run (None while unknown or unreachable)."""
    try:
        response = httpx.get(f"{state.function_host}/runtime/webhooks/durabletask/instances/{instance_id}",
                             params={"code": state.master_key}, timeout=10)
    except httpx.HTTPError:
        return None  # the host is being restarted
    return response.json() if response.status_code in (200, 202) else None


def wait_for_runs(state: DevstackState, ids: set[str], timeout: float = RUN_TIMEOUT) -> dict[str, dict]:
    """Wait until every run in ``ids`` has ended; returns their statuses."""
    done: dict[str, dict] = {}

    def all_done() -> bool:
        for instance_id in ids - set(done):
            status = run_status(state, instance_id)
            if status and status["runtimeStatus"] in TERMINAL:
                done[instance_id] = status
        return len(done) == len(ids)

    wait_until(all_done, timeout, interval=0.3, message=f"{len(ids)} runs finished")
    return done


def captures_per_vm(admin: AdminClient, vm_ids: Sequence[str]) -> dict[str, int]:
    """How many captures the ARM emulator holds for each VM."""
    wanted = {v.lower(): v for v in vm_ids}
    counts = dict.fromkeys(vm_ids, 0)
    for capture in admin.captures():
        vm = wanted.get(capture["target"].lower())
        if vm:
            counts[vm] += 1
    return counts


def emails_per_vm(admin: AdminClient, vm_ids: Sequence[str]) -> dict[str, int]:
    """How many emails name each VM in their subject."""
    emails = admin.emails()
    return {vm: sum(1 for e in emails if vm.rsplit("/", 1)[-1] in e["subject"]) for vm in vm_ids}


def blobs_per_vm(state: DevstackState, vm_ids: Sequence[str]) -> dict[str, int]:
    """How many capture files storage holds under each VM's folder (orphans included)."""
    from azure.identity import DefaultAzureCredential

    account = state.blob_endpoint.rstrip("/")
    if "/" not in account.split("://", 1)[1]:
        account = f"{account}/{state.capture_storage_account_id.rsplit('/', 1)[-1]}"
    saved = {k: os.environ.get(k) for k in state.azure_env()}
    os.environ.update(state.azure_env())
    try:
        container = ContainerClient(account, CAPTURE_CONTAINER, credential=DefaultAzureCredential())
        try:
            names = [b.name.lower() for b in container.list_blobs()]
        except ResourceNotFoundError:
            names = []
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {vm: sum(1 for n in names if vm.lower().lstrip("/") in n) for vm in vm_ids}


def host_pid(state: DevstackState) -> int:
    """The function host's pid, from its own state file."""
    return int(json.loads((Path(state.state_dir) / "host" / "state.json").read_text())["pid"])


def health(state: DevstackState) -> dict[str, Any]:
    """``GET /_devstack/health``: the JSON body whatever the status code."""
    response = httpx.get(f"{state.admin_url}/health", verify=state.ssl_context(), timeout=10)
    return response.json()


def kill_host(state: DevstackState) -> int:
    """``kill -9`` the function host; returns the pid that was killed."""
    pid = host_pid(state)
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_host_back(state: DevstackState, old_pid: int, timeout: float = 60.0) -> int:
    """Wait until the devstack restarted the host (a new pid, serving on the same URL); returns the pid."""
    def back() -> int | None:
        part = health(state).get("parts", {}).get("host", {})
        if part.get("state") != "running" or part.get("pid") in (None, old_pid):
            return None
        try:
            httpx.get(f"{state.function_host}/runtime/webhooks/durabletask/instances",
                      params={"code": state.master_key, "top": "1"}, timeout=5).raise_for_status()
        except httpx.HTTPError:
            return None
        return int(part["pid"])

    return wait_until(back, timeout, interval=0.2, message="host restarted by the devstack")


@dataclass
class StormResult:
    """What a storm of alerts produced."""

    vms: list[str]
    answers: list[Answer]
    runs: dict[str, dict[str, Any]]
    captures: dict[str, int]
    blobs: dict[str, int]
    emails: dict[str, int]

    @property
    def server_errors(self) -> int:
        """Answers that were 5xx or no answer at all."""
        return sum(1 for a in self.answers if a.status >= 500 or a.status == 0)

    def percentile(self, fraction: float) -> float:
        """Webhook answer time (s) at ``fraction`` (0.99 for p99)."""
        times = sorted(a.seconds for a in self.answers)
        return times[min(len(times) - 1, int(fraction * len(times)))] if times else 0.0


def storm(state: DevstackState, admin: AdminClient, vm_count: int, alerts: int, clients: int,
          repeats: int, timeout: float = 300.0) -> StormResult:
    """``alerts`` deliveries spread over ``vm_count`` new VMs inside one window from ``clients`` concurrent
    clients, then every delivery again ``repeats`` times; waits for every run to end."""
    vms = add_vms(admin, state, vm_count, "storm")
    fired = fired_now()
    from product_payloads import common_metric_static

    bodies = []
    for index in range(alerts):
        body = common_metric_static(targets=[vms[index % vm_count].lower()], fired=fired)
        body["data"]["essentials"]["alertId"] = f"/alerts/storm-{index}"
        bodies.append(body)
    answers: list[Answer] = []
    for _ in range(1 + repeats):
        answers += asyncio.run(post_alerts(state, bodies, clients))
    runs = wait_for_runs(state, run_ids(answers), timeout)
    return StormResult(vms, answers, runs, captures_per_vm(admin, vms), blobs_per_vm(state, vms),
                       emails_per_vm(admin, vms))
