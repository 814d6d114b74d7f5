"""Before the demo starts: the machine can run it, its config (private namespace names, the unarmed twin),
the VM and rule it triggers, and the app settings it passes to the devstack."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from devstack.config import AlertRuleConfig, DevstackConfig, VmConfig, load_config
from devstack.demo import sentry as demo_sentry
from devstack.monitor.targets import resolve_target

_NETNS_LINE = re.compile(r'^(\s*netns\s*=\s*")([^"]+)("\s*(?:#.*)?\n?)$')


class DemoFailure(Exception):
    """The demo cannot go on; `step` is the display line to mark failed."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


@dataclass
class DemoTarget:
    """The rule the demo triggers and the VM (namespace + veth) it runs on."""

    rule: AlertRuleConfig
    vm: VmConfig
    outer_ip: str


def pick_target(config: DevstackConfig) -> DemoTarget:
    """The first alert rule on a VM with its own namespace (vm-demo in the default config)."""
    from devstack.capture.netns import networks_for

    for rule in config.alert_rules:
        target = resolve_target(config, rule)
        vm = next((v for v in config.vms if v.id == target.resource_id), None)
        if vm is not None and vm.netns:
            network = networks_for([vm.netns])[vm.netns]
            return DemoTarget(rule=rule, vm=vm, outer_ip=network.outer_ip)
    raise DemoFailure("stack", "the config has no [[alert_rules]] entry on a VM with `netns`; the demo "
                               "needs one (devstack/devstack.toml has vm-demo-tcp-segments-sent)")


def write_demo_config(source: Path, destination: Path) -> Path:
    """A copy of `source` whose namespaces get a per-run name (`alertcap-demo<pid>-<n>`).

    Another devstack on the same machine (a test, `make up`) creates and deletes the namespaces of its own
    config; private names keep the demo's VM network out of their reach. Everything else is unchanged.
    """
    renamed: dict[str, str] = {}
    lines = []
    for line in source.read_text().splitlines(keepends=True):
        match = _NETNS_LINE.match(line)
        if match:
            old = match.group(2)
            new = renamed.setdefault(old, f"alertcap-demo{os.getpid() % 100000}-{len(renamed)}")
            line = f"{match.group(1)}{new}{match.group(3)}"
        lines.append(line)
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text("".join(lines))
    return destination


def stack_settings(capture_seconds: int, webhook_auth: str) -> list[str]:
    """The `python -m devstack up` arguments for the demo's app settings: the capture length and
    WEBHOOK_AUTH (with `entra`, the monitor sends secure webhooks with tokens instead of the key)."""
    return ["--setting", f"CAPTURE_TIME_LIMIT_SECONDS={capture_seconds}",
            "--setting", f"WEBHOOK_AUTH={webhook_auth}"]


def add_unarmed_twin(path: Path) -> Path:
    """Append the unarmed twin of the demo VM (devstack.demo.sentry) to the demo config."""
    config = load_config(path)
    target = pick_target(config)
    path.write_text(path.read_text() + demo_sentry.twin_config_text(config, target.vm, target.rule.name))
    return path


def preflight() -> None:
    """Root and the tools the devstack needs, checked before anything starts."""
    if os.geteuid() != 0:
        raise DemoFailure("stack", "the demo needs root: it creates a network namespace per VM and runs "
                                   "tcpdump (run `sudo make demo`)")
    missing = [tool for tool in ("ip", "tcpdump") if shutil.which(tool) is None]
    if missing:
        raise DemoFailure("stack", f"missing tools: {', '.join(missing)} (`make setup` installs them)")
