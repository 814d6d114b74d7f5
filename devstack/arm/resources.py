"""Generic resource reads (`Microsoft.Resources`): resolve any emulated ARM id, list resources with `$filter`.

Used by azure-mgmt-resource's `resources.get_by_id(id, api_version)` and `resources.list(filter=...)`. Ids are
matched case-insensitively, as ARM does (alert payloads often carry lower-cased ids).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from devstack.arm import compute
from devstack.arm.exceptions import InvalidFilter, NotFound, ResourceGroupNotFound, ResourceNotFound
from devstack.arm.models import ArmBackend
from devstack.arm.network import CAPTURE_TYPE, WATCHER_TYPE

FILTER_TERM_RE = re.compile(
    r"^\s*(resourceType|name|location|resourceGroup)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Resource:
    """One resource as the generic API sees it: its id, type (for the read action) and full body."""

    id: str
    type: str
    location: str
    body: dict[str, Any]

    @property
    def read_action(self) -> str:
        """The RBAC action that reads it, e.g. `Microsoft.Compute/virtualMachines/read`."""
        return f"{self.type}/read"

    def generic_body(self) -> dict[str, Any]:
        """The `GenericResource` list entry (no properties, as ARM lists them)."""
        keep = ("id", "name", "type", "location", "tags", "sku", "kind")
        return {k: self.body[k] for k in keep if k in self.body}


def all_resources(backend: ArmBackend, sub: str) -> list[Resource]:
    """Every resource of a subscription: VMs and their extensions, scale sets, watchers, captures, storage."""
    found: list[Resource] = []
    for machine in backend.machines.values():
        if machine.subscription_id.lower() != sub.lower():
            continue
        if machine.kind == "vm":
            found.append(Resource(machine.id, compute.VM_TYPE, machine.location, compute.vm_body(machine)))
        else:
            found.append(
                Resource(machine.id, compute.VMSS_TYPE, machine.location, compute.vmss_body(machine))
            )
        for extension in machine.extensions.values():
            body = extension.body(machine)
            found.append(Resource(body["id"], body["type"], machine.location, body))
    for watcher in backend.watchers(sub):
        found.append(Resource(watcher.id, WATCHER_TYPE, watcher.location, watcher.body()))
    for capture in backend.captures.values():
        if capture.watcher.subscription_id.lower() == sub.lower():
            found.append(Resource(capture.id, CAPTURE_TYPE, capture.watcher.location, capture.body()))
    for account in backend.ctx.config.storage_accounts:
        if account.id.lower().startswith(f"/subscriptions/{sub.lower()}/"):
            found.append(
                Resource(
                    account.id,
                    "Microsoft.Storage/storageAccounts",
                    _account_location(backend),
                    _account_body(backend, account),
                )
            )
    return found


def get_by_id(backend: ArmBackend, resource_id: str) -> Resource:
    """The resource with this id (case-insensitive); 404 in ARM's words otherwise."""
    clean = "/" + resource_id.strip("/")
    parts = clean.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise NotFound(f"No route or resource matches '{clean}'.")
    sub = parts[1]
    backend.check_subscription(sub)
    if len(parts) == 4 and parts[2].lower() == "resourcegroups":
        return _resource_group(backend, sub, parts[3])
    for resource in all_resources(backend, sub):
        if resource.id.lower() == clean.lower():
            return resource
    if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
        backend.check_group(sub, parts[3])
        if len(parts) >= 8 and parts[4].lower() == "providers":
            raise ResourceNotFound("/".join(parts[5:7]), "/".join(parts[7::2]), parts[3])
    raise NotFound(f"The resource '{clean}' was not found.")


def read_action_for(resource_id: str) -> str | None:
    """The RBAC read action for an id's type, found from the id alone (the resource may not exist):
    `.../providers/Microsoft.Compute/virtualMachines/vm1/extensions/e1` -> `Microsoft.Compute/virtualMachines/
    extensions/read`; None for anything that is not a resource group or a provider resource."""
    parts = resource_id.strip("/").split("/")
    if len(parts) < 4 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups":
        return None
    if len(parts) == 4:
        return "Microsoft.Resources/subscriptions/resourceGroups/read"
    if len(parts) < 8 or parts[4].lower() != "providers":
        return None
    return "/".join([parts[5], *parts[6::2], "read"])


def _resource_group(backend: ArmBackend, sub: str, name: str) -> Resource:
    groups = backend.resource_groups(sub)
    if name.lower() not in groups:
        raise ResourceGroupNotFound(name)
    rid = f"/subscriptions/{sub}/resourceGroups/{name}"
    body = {
        "id": rid,
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": _group_location(backend, sub, name),
        "properties": {"provisioningState": "Succeeded"},
    }
    return Resource(rid, "Microsoft.Resources/subscriptions/resourceGroups", body["location"], body)


def parse_filter(text: str | None) -> dict[str, str]:
    """`resourceType eq 'X' and location eq 'Y'` -> {"resourcetype": "x", "location": "y"}; 400 otherwise."""
    if not text:
        return {}
    terms: dict[str, str] = {}
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = FILTER_TERM_RE.match(term)
        if match is None:
            raise InvalidFilter(
                f"The $filter '{text}' is not supported; use resourceType, name, location or resourceGroup "
                "with 'eq', joined by 'and'."
            )
        terms[match[1].lower()] = match[2].lower()
    return terms


def matches(resource: Resource, terms: dict[str, str]) -> bool:
    """Whether a resource satisfies a parsed `$filter`."""
    values = {
        "resourcetype": resource.type.lower(),
        "name": resource.body.get("name", "").lower(),
        "location": resource.location.lower(),
        "resourcegroup": resource.id.split("/")[4].lower() if resource.id.count("/") >= 4 else "",
    }
    return all(values[key] == value for key, value in terms.items())


def _group_location(backend: ArmBackend, sub: str, name: str) -> str:
    for machine in backend.machines.values():
        if machine.subscription_id.lower() == sub.lower() and machine.resource_group.lower() == name.lower():
            return machine.location
    if name.lower() == "networkwatcherrg":
        return next((w.location for w in backend.watchers(sub)), "westeurope")
    return _account_location(backend)


def _account_location(backend: ArmBackend) -> str:
    return next((m.location for m in backend.machines.values()), "westeurope")


def _account_body(backend: ArmBackend, account: Any) -> dict[str, Any]:
    endpoint = ""
    with contextlib.suppress(KeyError):
        endpoint = backend.ctx.storage_for_id(account.id).blob_endpoint.rstrip("/") + "/"
    return {
        "id": account.id,
        "name": account.name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": _account_location(backend),
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "tags": {},
        "properties": {"provisioningState": "Succeeded", "primaryEndpoints": {"blob": endpoint}},
    }
