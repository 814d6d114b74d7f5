"""From a parsed alert to capture targets: validation, VM/VMSS selection, allow-list, dedup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.alerts import ParsedAlert
from core.arm_ids import (
    VM_TYPE,
    VMSS_TYPE,
    InvalidResourceId,
    ResourceId,
    instance_id_from_name,
    is_valid_instance_name,
    parse_resource_id,
    scale_set_instance,
    scope_kind,
)
from core.errors import InvalidRequest

AZURE_VM = "AzureVM"
AZURE_VMSS = "AzureVMSS"


@dataclass(frozen=True)
class Target:
    """One capture target: a VM, or a scale set with an optional instance scope."""

    id: str
    target_type: str
    scope_include: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"id": self.id, "target_type": self.target_type, "scope_include": list(self.scope_include)}

    @classmethod
    def from_dict(cls, data: Any) -> Target:
        """Inverse of :meth:`to_dict`, validating the id again (orchestrator input is checked first)."""
        if not isinstance(data, dict):
            raise InvalidRequest("target", "must be an object")
        try:
            rid = parse_resource_id(data.get("id"))
        except InvalidResourceId as exc:
            raise InvalidRequest("target.id", str(exc)) from None
        kind = str(data.get("target_type"))
        expected = {AZURE_VM: VM_TYPE, AZURE_VMSS: VMSS_TYPE}.get(kind)
        if expected is None or rid.full_type != expected:
            raise InvalidRequest("target.target_type", "must be AzureVM or AzureVMSS matching the id")
        include = data.get("scope_include") or []
        if not isinstance(include, list) or not all(is_valid_instance_name(n) for n in include):
            raise InvalidRequest("target.scope_include", "must be a list of instance names")
        return cls(rid.id, kind, tuple(include))


@dataclass(frozen=True)
class Ignored:
    """A target the alert named that we will not capture, with the reason."""

    target: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"target": self.target, "reason": self.reason}


def select_targets(
    alert: ParsedAlert,
    allowed_scopes: tuple[tuple[str, str | None], ...] = (),
    max_targets: int = 20,
) -> tuple[list[Target], list[Ignored]]:
    """Validate every id (a bad one rejects the request); keep VMs and scale sets inside the allow-list.

    Scale-set instances (``.../virtualMachineScaleSets/<set>/virtualMachines/<id>``) and a scale set named
    with ``VMName`` dimensions become one scale-set target per set whose ``scope_include`` lists those
    instance ids; a set named without instances is captured whole.
    """
    targets: dict[str, Target] = {}
    scale_sets: dict[str, _ScaleSetPick] = {}
    ignored: list[Ignored] = []
    vm_names = tuple(sorted(
        {v for n, v in alert.dimensions if n.lower() == "vmname" and is_valid_instance_name(v)}))
    for i, raw in enumerate(alert.target_ids):
        try:
            rid = parse_resource_id(raw)
        except InvalidResourceId as exc:
            kind = scope_kind(raw)
            if kind is None:
                raise InvalidRequest(f"target[{i}]", f"not a valid ARM resource id: {exc}") from None
            ignored.append(Ignored(raw, f"a {kind} is not a VM or VM scale set"))
            continue
        instance = scale_set_instance(rid)
        if instance is None and rid.full_type not in (VM_TYPE, VMSS_TYPE):
            ignored.append(Ignored(rid.id, f"resource type {rid.full_type} is not a VM or VM scale set"))
            continue
        if allowed_scopes and not _allowed(rid, allowed_scopes):
            ignored.append(Ignored(rid.id, "outside the allowed subscriptions/resource groups"))
            continue
        if instance is not None:
            scale_set, instance_id = instance
            scale_sets.setdefault(scale_set.key, _ScaleSetPick(scale_set)).instances.add(instance_id)
            targets.setdefault(scale_set.key, Target(scale_set.id, AZURE_VMSS))
        elif rid.full_type == VMSS_TYPE:
            pick = scale_sets.setdefault(rid.key, _ScaleSetPick(rid))
            pick.instances.update(instance_id_from_name(rid.name, n) for n in vm_names)
            pick.whole = pick.whole or not vm_names
            targets.setdefault(rid.key, Target(rid.id, AZURE_VMSS))
        else:
            targets.setdefault(rid.key, Target(rid.id, AZURE_VM))
    for key, pick in scale_sets.items():
        targets[key] = Target(targets[key].id, AZURE_VMSS, pick.scope_include)
    if len(targets) > max_targets:
        raise InvalidRequest("target", f"the alert names {len(targets)} targets, more than {max_targets}")
    return list(targets.values()), ignored


def in_allowed_scopes(target_id: str, scopes: tuple[tuple[str, str | None], ...]) -> bool:
    """True when the resource lies in one of the allowed subscriptions / resource groups."""
    return _allowed(parse_resource_id(target_id), scopes)


@dataclass
class _ScaleSetPick:
    """The instances of one scale set an alert names (``whole``: the set itself, without instances)."""

    rid: ResourceId
    instances: set[str] = field(default_factory=set)
    whole: bool = False

    @property
    def scope_include(self) -> tuple[str, ...]:
        """Instance ids for ``scope.include``, numbers in order; empty (every instance) for the whole set."""
        if self.whole:
            return ()
        return tuple(sorted(self.instances, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n)))


def _allowed(rid: ResourceId, scopes: tuple[tuple[str, str | None], ...]) -> bool:
    sub, group = rid.subscription_id.lower(), rid.resource_group.lower()
    return any(sub == s and (g is None or g == group) for s, g in scopes)
