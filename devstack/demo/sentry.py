"""The demo's pre-alert part: arm vm-demo before the burst; measure burst coverage against an unarmed twin.

The demo config gets a twin of the demo VM (`vm-unarmed`, its own namespace, the same alert rule) that
receives the same bursts but is not armed, so one `make demo` shows both: the armed VM's incident files
(harvested from its continuous capture) and the twin's alert-triggered capture. A reference tcpdump on each
VM's interface is the ground truth for `devstack.demo.coverage.burst_coverage`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devstack.capture.netns import configured_namespaces, networks_for
from devstack.config import DevstackConfig, VmConfig
from devstack.demo import observe
from devstack.demo.coverage import ReferenceCapture
from devstack.demo.traffic import TrafficSink

TWIN_NAME = "vm-unarmed"
LOOKBACK_SECONDS = 300
RING_BUDGET_BYTES = 6 * 48 * 1024  # 6 files of 48 KiB: ~9 rounds of the demo's burst; a file per ~1.5 rounds
AFTER_SECONDS = 5
RING_READY_SECONDS = 20.0
POLL_SECONDS = 0.5


def twin_config_text(config: DevstackConfig, demo_vm: VmConfig, rule_name: str) -> str:
    """TOML for the unarmed twin: a VM like `demo_vm` in its own namespace and a copy of the demo's rule."""
    rule = next(r for r in config.alert_rules if r.name == rule_name)
    netns = f"{demo_vm.netns}-t"
    return (f'\n[[vms]]\nname = "{TWIN_NAME}"\nresource_group = "{demo_vm.resource_group}"\n'
            f'location = "{demo_vm.location}"\nos = "{demo_vm.os}"\nnetns = "{netns}"\n'
            f'agent_installed = true\npower_state = "running"\n'
            f'\n[[alert_rules]]\nname = "{TWIN_NAME}-{rule.metric.lower()}"\nvm = "{TWIN_NAME}"\n'
            f'metric = "{rule.metric}"\noperator = "{rule.operator}"\nthreshold = {rule.threshold:g}\n'
            f'window_seconds = {rule.window_seconds}\nfrequency_seconds = {rule.frequency_seconds}\n'
            f'severity = {rule.severity}\ndescription = "the unarmed twin of {demo_vm.name}"\n')


def find_twin(config: DevstackConfig) -> tuple[VmConfig, str] | None:
    """The twin VM and its outer IP, when the config has one."""
    vm = next((v for v in config.vms if v.name == TWIN_NAME and v.netns), None)
    if vm is None or vm.netns is None:
        return None
    return vm, networks_for(configured_namespaces(config))[vm.netns].outer_ip


async def arm(http: httpx.AsyncClient, stack: dict[str, Any], vm_id: str) -> dict[str, Any]:
    """Arm `vm_id` through the product's sentry API (master key); returns the API's answer."""
    response = await http.post(f"{stack['function_host'].rstrip('/')}/api/sentry/arm",
                               headers={"x-functions-key": stack["master_key"]},
                               json={"target": vm_id, "lookback_seconds": LOOKBACK_SECONDS,
                                     "budget_bytes": RING_BUDGET_BYTES, "after_seconds": AFTER_SECONDS})
    if response.status_code not in (200, 202):
        raise RuntimeError(f"arming {vm_id} failed: HTTP {response.status_code} {response.text[:200]}")
    return dict(response.json())


async def wait_for_ring(http: httpx.AsyncClient, stack: dict[str, Any], vm_id: str) -> dict[str, Any]:
    """The running continuous capture of `vm_id` (admin view), once the sentry started it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RING_READY_SECONDS
    while loop.time() < deadline:
        for capture in await observe.admin_list(http, stack, "captures"):
            running = capture.get("continuous") and capture["status"] == "Running"
            if running and observe.mentions(capture, vm_id):
                return capture
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"no continuous capture runs on {vm_id} {RING_READY_SECONDS:.0f} s after arming")


@dataclass
class Twin:
    """The unarmed twin: its sink, the bursts it gets, and its run once the monitor fired."""

    vm: VmConfig
    outer_ip: str
    sink: TrafficSink | None = None
    run_id: str = ""
    run_output: dict[str, Any] | None = None
    pcap: bytes = b""

    async def start(self) -> int:
        """Listen on the twin's veth; returns the sink port."""
        self.sink = TrafficSink(self.outer_ip)
        return await self.sink.start()

    async def stop(self) -> None:
        """Stop the sink."""
        if self.sink is not None:
            await self.sink.stop()


@dataclass
class CoverageRun:
    """Reference captures on both VMs; the coverage lines once both runs are done."""

    references: dict[str, ReferenceCapture] = field(default_factory=dict)

    async def start(self, name: str, namespace: str, port: int, path: Path) -> bool:
        """Start the reference capture of one VM."""
        reference = ReferenceCapture(namespace, port, path)
        self.references[name] = reference
        return await reference.start()

    async def stop(self) -> dict[str, bytes]:
        """Stop every reference capture; their pcaps by VM name."""
        return {name: await reference.stop() for name, reference in self.references.items()}
