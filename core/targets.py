"""From a parsed alert to capture targets: validation, VM/VMSS selection, allow-list, dedup."""

from __future__ import annotations

from dataclasses import dataclass

from core.alerts import ParsedAlert
from core.arm_ids import (
    VM_TYPE,
    VMSS_TYPE,
    InvalidResourceId,
    ResourceId,
    is_valid_instance_name,
    parse_resource_id,
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
    def from_dict(cls, data: dict) -> Target:
        """Inverse of :meth:`to_dict`, validating the id again (orchestrator input is checked first)."""
        if not isinstance(data, dict):
            raise InvalidRequest("target", "must be an object")
        try:
            rid = parse_resource_id(data.get("id"))
        except InvalidResourceId as exc:
            raise InvalidRequest("target.id", str(exc)) from None
        kind = data.get("target_type")
        expected = {AZURE_VM: VM_TYPE, AZURE_VMSS: VMSS_TYPE}.get(kind)  # type: ignore[arg-type]
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
    """Validate every id (a bad one rejects the request); keep VMs and scale sets inside the allow-list."""
    targets: dict[str, Target] = {}
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
        if rid.full_type == VM_TYPE:
            target = Target(rid.id, AZURE_VM)
        elif rid.full_type == VMSS_TYPE:
            target = Target(rid.id, AZURE_VMSS, vm_names)
        else:
            ignored.append(Ignored(rid.id, f"resource type {rid.full_type} is not a VM or VM scale set"))
            continue
        if allowed_scopes and not _allowed(rid, allowed_scopes):
            ignored.append(Ignored(rid.id, "outside the allowed subscriptions/resource groups"))
            continue
        targets.setdefault(rid.key, target)
    if len(targets) > max_targets:
        raise InvalidRequest("target", f"the alert names {len(targets)} targets, more than {max_targets}")
    return list(targets.values()), ignored


def in_allowed_scopes(target_id: str, scopes: tuple[tuple[str, str | None], ...]) -> bool:
    """True when the resource lies in one of the allowed subscriptions / resource groups."""
    return _allowed(parse_resource_id(target_id), scopes)


def _allowed(rid: ResourceId, scopes: tuple[tuple[str, str | None], ...]) -> bool:
    sub, group = rid.subscription_id.lower(), rid.resource_group.lower()
    return any(sub == s and (g is None or g == group) for s, g in scopes)
