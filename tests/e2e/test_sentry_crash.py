"""Host crashes (kill -9) while a VM is armed: during arming, during renewals and during a harvest.

The devstack runs without its own function host; the test runs the product on a durable host it can kill and
restart on the same state. A trickle of traffic to the VM runs throughout; afterwards every ring file of the
VM is read back: the longest stretch without a captured packet must not exceed the renewal gaps the sentry
measured (a crash inside a renewal lengthens that renewal's gap; anywhere else the capture keeps running),
there is never more than one continuous capture at a time, and the harvest's copies are not doubled.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import product_payloads as p
import pytest

from core.sentry import sentry_instance_id
from devstack.host.testing import HostProcess, get_status, start_host
from devstack.product_testing import Sink, incident_blob_urls, product_config, ring_captures, ring_packets
from devstack.testing import AdminClient, DevstackState, run_devstack, wait_until

pytestmark = pytest.mark.e2e
TRICKLE_PAUSE = 0.05


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackState]:
    state_dir = tmp_path_factory.mktemp("sentry-crash")
    with run_devstack(state_dir, config_path=product_config(state_dir / "devstack.toml"), host=False,
                      timeout=120) as state:
        yield state


@pytest.fixture
def host(stack: DevstackState, tmp_path: Path) -> Iterator[HostProcess]:
    env = {"SSL_CERT_FILE": stack.ca_bundle, "REQUESTS_CA_BUNDLE": stack.ca_bundle,
           "CURL_CA_BUNDLE": stack.ca_bundle}
    process = start_host(Path(__file__).resolve().parents[2], settings=stack.app_settings_file,
                         state_dir=tmp_path / "host", env=env, timeout=60)
    try:
        yield process
    finally:
        process.stop()


class Trickle:
    """Connections to the sink every TRICKLE_PAUSE s on a thread, and the highest count of running rings."""

    def __init__(self, sink: Sink, admin: AdminClient, vm_id: str) -> None:
        self.sink, self.admin, self.vm_id = sink, admin, vm_id
        self.stop = threading.Event()
        self.most_running = 0
        self.threads = [threading.Thread(target=self._send), threading.Thread(target=self._watch)]

    def _send(self) -> None:
        while not self.stop.wait(TRICKLE_PAUSE):
            self.sink.burst(1, size=200)

    def _watch(self) -> None:
        while not self.stop.wait(0.05):
            self.most_running = max(self.most_running, len(ring_captures(self.admin, self.vm_id)))

    def __enter__(self) -> Trickle:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


def api(host: HostProcess, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{host.base_url}/api/{path}", params={"code": host.master_key}, json=body,
                         timeout=15)


def sentry_view(host: HostProcess, vm_id: str) -> dict[str, Any] | None:
    status = get_status(host, sentry_instance_id(vm_id))
    return status.get("customStatus") if status else None


def test_crashes_during_arming_renewal_and_harvest_lose_nothing_beyond_the_renewal_gap(stack, host):
    admin = AdminClient(stack)
    vm_id = (f"/subscriptions/{stack.subscription_id}/resourceGroups/rg-alertcap-demo/providers/"
             f"Microsoft.Compute/virtualMachines/vm-crash-{uuid.uuid4().hex[:8]}")
    admin.add_vm({"id": vm_id, "location": "westeurope"})
    sink = Sink()
    gaps: list[float] = []
    try:
        with Trickle(sink, admin, vm_id) as trickle:
            armed = api(host, "POST", "sentry/arm", {
                "target": vm_id, "lookback_seconds": 300, "budget_bytes": 8 * 1024 * 1024, "after_seconds": 1,
                "session_seconds": 60, "renew_margin_seconds": 54, "watch_seconds": 1,
                "filters": [{"protocol": "TCP", "localPort": str(sink.port)}]})
            assert armed.status_code == 202, armed.text
            host.kill()  # during arming
            host.restart(60)
            wait_until(lambda: ring_captures(admin, vm_id), 60, interval=0.1, message="the ring runs")
            for _ in range(2):  # crashes across renewals (every ~6 s)
                view = wait_until(lambda: sentry_view(host, vm_id), 30, interval=0.1, message="a view")
                generation = view["generation"]
                wait_until(lambda g=generation: (v := sentry_view(host, vm_id)) and v["generation"] > g
                           and v["phase"] == "starting", 30, interval=0.02, message="a renewal in progress")
                host.kill()
                host.restart(60)
                view = wait_until(lambda g=generation: (v := sentry_view(host, vm_id)) and v["generation"] > g
                                  and v["phase"] == "armed" and v, 60, interval=0.1, message="renewed")
                gaps.append(view["last_gap_seconds"])
            fired = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            response = httpx.post(f"{host.base_url}/api/alerts", params={"code": host.function_key},
                                  json=p.common_metric_static(targets=[vm_id.lower()], fired=fired),
                                  timeout=15)
            assert response.status_code == 202, response.text
            (run,) = response.json()["runs"]
            wait_until(lambda: (s := get_status(host, run["instanceId"])) and
                       (s.get("customStatus") or {}).get("phase") == "harvesting", 30, interval=0.02,
                       message="the harvest in progress")
            host.kill()  # during the harvest
            host.restart(60)
            status = wait_until(lambda: (s := get_status(host, run["instanceId"])) and
                                s["runtimeStatus"] in ("Completed", "Failed") and s, 90, interval=0.2,
                                message="the run finished")
            final = sentry_view(host, vm_id)
            assert final["max_gap_seconds"] >= max(gaps)
            disarmed = api(host, "POST", "sentry/disarm", {"target": vm_id})
            assert disarmed.status_code == 202
            wait_until(lambda: not ring_captures(admin, vm_id, running_only=False), 60, interval=0.1,
                       message="disarmed")
        assert trickle.most_running == 1, "never two continuous captures at once"
    finally:
        sink.close()
    output = status["output"]
    assert output["status"] == "succeeded" and output["files"], output
    urls = [f["url"] for f in output["files"]]
    assert len(urls) == len(set(urls)), "no incident file copied twice"
    # the harvest retried after the crash made no second copy: the incident holds exactly the run's files
    assert incident_blob_urls(stack, run["instanceId"]) == sorted(urls)
    times = sorted({when for when, _ in ring_packets(stack, vm_id, sink.port)})
    longest = max(b - a for a, b in itertools.pairwise(times))
    allowed = final["max_gap_seconds"] + 1.0  # + the trickle's own pause and scheduling
    assert longest <= allowed, f"coverage lost: {longest:.1f} s without a packet; renewal gaps {gaps}"
