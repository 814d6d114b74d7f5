"""The resource a rule watches: its ARM id for the payload, its namespace and interface for counters."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.config import AlertRuleConfig, DevstackConfig


@dataclass(frozen=True)
class MetricTarget:
    """One emulated VM (or scale set) as the monitor sees it."""

    resource_id: str
    name: str
    subscription_id: str
    resource_group: str
    vm_id: str
    netns: str | None
    interface: str

    @property
    def alert_target_id(self) -> str:
        """The id Azure puts in `alertTargetIDs`: the ARM id, lower-cased as Azure Monitor sends it."""
        return self.resource_id.lower()


def resolve_target(config: DevstackConfig, rule: AlertRuleConfig) -> MetricTarget:
    """The VM or scale set a rule names (by name or ARM id, case-insensitive); ValueError if none matches."""
    wanted = rule.vm.lower()
    for machine in [*config.vms, *config.scale_sets]:
        if wanted in (machine.name.lower(), machine.id.lower()):
            return MetricTarget(
                resource_id=machine.id,
                name=machine.name,
                subscription_id=machine.subscription_id,
                resource_group=machine.resource_group,
                vm_id=machine.vm_id,
                netns=machine.netns,
                interface=machine.interface,
            )
    raise ValueError(f"alert rule {rule.name!r} names VM {rule.vm!r}, which is not in the devstack config")
