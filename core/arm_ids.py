"""Strict parsing of Azure Resource Manager ids.

Alert payloads are untrusted input that ends up in ARM URLs, so ids are validated against the documented
naming rules before any call: ASCII only (no look-alike characters), no traversal segments, no percent
escapes, no query or fragment characters, a GUID subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Resource group: 1-90 of alphanumerics, underscore, hyphen, period, parentheses; not ending in a period.
_RESOURCE_GROUP = re.compile(r"^[A-Za-z0-9_\-.()]{1,90}$")
# Compute names: VMs allow 1-64 of alphanumerics, underscore, hyphen, period (we accept the common subset).
_RESOURCE_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,80}$")
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
MAX_ID_LENGTH = 1024

VM_TYPE = "microsoft.compute/virtualmachines"
VMSS_TYPE = "microsoft.compute/virtualmachinescalesets"
VMSS_VM_TYPE = "microsoft.compute/virtualmachinescalesets/virtualmachines"


class InvalidResourceId(ValueError):
    """The text is not a well-formed ARM resource id."""


@dataclass(frozen=True)
class ResourceId:
    """A parsed ARM id of a top-level or child resource."""

    subscription_id: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        """The last name segment (the resource's own name)."""
        return self.names[-1]

    @property
    def full_type(self) -> str:
        """``Namespace/type[/childType]`` lower-cased, for comparisons."""
        return "/".join((self.namespace, *self.types)).lower()

    @property
    def id(self) -> str:
        """The id re-assembled from validated parts (canonical separators, original case)."""
        tail = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{tail}"
        )

    @property
    def key(self) -> str:
        """Case-insensitive identity (ARM ids are case-insensitive)."""
        return self.id.lower()


def _check_ascii(text: str) -> None:
    if not text.isascii() or not text.isprintable():
        raise InvalidResourceId("contains non-ASCII or control characters")
    for bad in ("%", "?", "#", "\\", " ", "//", "&", "'", '"', "<", ">"):
        if bad in text:
            raise InvalidResourceId(f"contains the forbidden sequence {bad!r}")


def parse_resource_id(text: object) -> ResourceId:
    """Parse and strictly validate an ARM resource id; raise :class:`InvalidResourceId` when it is not one."""
    if not isinstance(text, str):
        raise InvalidResourceId("is not a string")
    if not text or len(text) > MAX_ID_LENGTH:
        raise InvalidResourceId("is empty or too long")
    _check_ascii(text)
    if not text.startswith("/") or text.endswith("/"):
        raise InvalidResourceId("must start with '/' and not end with '/'")
    parts = text[1:].split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise InvalidResourceId("contains an empty or traversal segment")
    if len(parts) < 8 or len(parts) % 2:
        raise InvalidResourceId("does not have the /subscriptions/../resourceGroups/../providers/.. shape")
    if [p.lower() for p in parts[0:6:2]] != ["subscriptions", "resourcegroups", "providers"]:
        raise InvalidResourceId("does not have the /subscriptions/../resourceGroups/../providers/.. shape")
    sub, group, namespace = parts[1], parts[3], parts[5]
    if not _GUID.match(sub):
        raise InvalidResourceId("subscription is not a GUID")
    if not _RESOURCE_GROUP.match(group) or group.endswith("."):
        raise InvalidResourceId("resource group name is not valid")
    if not _NAMESPACE.match(namespace):
        raise InvalidResourceId("provider namespace is not valid")
    rest = parts[6:]
    types, names = tuple(rest[0::2]), tuple(rest[1::2])
    for t in types:
        if not _TYPE.match(t):
            raise InvalidResourceId("resource type is not valid")
    for n in names:
        if not _RESOURCE_NAME.match(n) or n.endswith("."):
            raise InvalidResourceId("resource name is not valid")
    return ResourceId(sub, group, namespace, types, names)


def scope_kind(text: object) -> str | None:
    """What a well-formed id *outside* a resource group names, or None.

    ``/subscriptions/<guid>`` (service health), ``.../resourceGroups/<rg>`` (group-scoped activity log
    alerts) and ``/subscriptions/<guid>/providers/<ns>/<type>/<name>...`` are valid ARM ids that are simply
    not VMs; they are validated as strictly as :func:`parse_resource_id`.
    """
    if not isinstance(text, str) or len(text) > MAX_ID_LENGTH:
        return None
    if not text.startswith("/") or text.endswith("/"):
        return None
    try:
        _check_ascii(text)
    except InvalidResourceId:
        return None
    parts = text[1:].split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions" or not _GUID.match(parts[1]):
        return None
    rest = parts[2:]
    if not rest:
        return "subscription"
    if len(rest) == 2 and rest[0].lower() == "resourcegroups":
        group = rest[1]
        return "resource group" if _RESOURCE_GROUP.match(group) and not group.endswith(".") else None
    if len(rest) >= 4 and len(rest) % 2 == 0 and rest[0].lower() == "providers" and _NAMESPACE.match(rest[1]):
        types, names = rest[2::2], rest[3::2]
        valid = all(_TYPE.match(t) for t in types) and all(
            _RESOURCE_NAME.match(n) and not n.endswith(".") for n in names)
        return "subscription-level resource" if valid else None
    return None


def parse_scope(text: str) -> tuple[str, str | None]:
    """Parse an allow-list entry ``/subscriptions/<guid>[/resourceGroups/<rg>]`` into lower-cased parts."""
    _check_ascii(text)
    parts = text.strip("/").split("/")
    if len(parts) not in (2, 4) or parts[0].lower() != "subscriptions" or not _GUID.match(parts[1]):
        raise InvalidResourceId("is not /subscriptions/<guid> or /subscriptions/<guid>/resourceGroups/<rg>")
    if len(parts) == 2:
        return parts[1].lower(), None
    if parts[2].lower() != "resourcegroups" or not _RESOURCE_GROUP.match(parts[3]):
        raise InvalidResourceId("resource group part is not valid")
    return parts[1].lower(), parts[3].lower()


def is_valid_instance_name(name: object) -> bool:
    """True when ``name`` is a plausible scale-set instance name (for ``scope.include``)."""
    return isinstance(name, str) and bool(_RESOURCE_NAME.match(name)) and name.isascii()


def scale_set_instance(rid: ResourceId) -> tuple[ResourceId, str] | None:
    """For ``.../virtualMachineScaleSets/<set>/virtualMachines/<instance id>``: the scale set's id and the
    instance id (what ``scope.include`` holds); None for any other resource."""
    if rid.full_type != VMSS_VM_TYPE:
        return None
    return ResourceId(rid.subscription_id, rid.resource_group, rid.namespace, rid.types[:1], rid.names[:1]), \
        rid.names[1]


def instance_id_from_name(scale_set: str, name: str) -> str:
    """A scale-set instance as ``scope.include`` takes it: the instance id for a uniform set's instance VM
    name ``<set>_<id>`` (``vmss-web_3`` -> ``3``); any other name unchanged."""
    head, _, tail = name.rpartition("_")
    return tail if head.lower() == scale_set.lower() and tail.isdigit() else name
