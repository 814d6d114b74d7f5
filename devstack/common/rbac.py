"""Azure RBAC as ARM evaluates it: role definitions with wildcard actions, assignments at a scope.

An action is allowed when some assignment of the principal has a scope that is the resource id or one of its
ancestors (case-insensitive, whole path segments), and its role has an `actions` pattern matching the action
and no `notActions` pattern matching it. `*` matches any run of characters (slashes included),
case-insensitively.
Data actions (`dataActions`/`notDataActions`) are checked separately, as in Azure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from devstack.config import RoleAssignment, RoleDefinitionConfig


@dataclass(frozen=True)
class RoleDefinition:
    """A role: what it allows (`actions`, `data_actions`) minus what it excludes."""

    name: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    role_id: str = ""

    def allows(self, action: str, data_action: bool = False) -> bool:
        """True when `action` matches an allowed pattern and no excluded one."""
        allow, deny = (
            (self.data_actions, self.not_data_actions) if data_action else (self.actions, self.not_actions)
        )
        return any(action_matches(p, action) for p in allow) and not any(
            action_matches(p, action) for p in deny
        )


BUILTIN_ROLES: dict[str, RoleDefinition] = {
    role.name: role
    for role in (
        RoleDefinition("Owner", ("*",), role_id="8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        RoleDefinition(
            "Contributor",
            ("*",),
            (
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
                "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
                "Microsoft.Subscription/cancel/action",
                "Microsoft.Subscription/enable/action",
            ),
            role_id="b24988ac-6180-42a0-ab88-20f7382dd24c",
        ),
        RoleDefinition("Reader", ("*/read",), role_id="acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        RoleDefinition(
            "Network Contributor",
            (
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Network/*",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
            ),
            role_id="4d97b98b-1d4f-4787-a291-c67834d212e7",
        ),
        RoleDefinition(
            "Storage Account Contributor",
            (
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Insights/diagnosticSettings/*",
                "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Storage/storageAccounts/*",
                "Microsoft.Support/*",
            ),
            role_id="17d1049b-9a84-46fb-8f53-869881c3d3ab",
        ),
        RoleDefinition(
            "Storage Blob Data Reader",
            (
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ),
            data_actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",),
            role_id="2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        ),
        RoleDefinition(
            "Storage Blob Data Contributor",
            (
                "Microsoft.Storage/storageAccounts/blobServices/containers/*",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ),
            data_actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*",),
            role_id="ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        ),
    )
}


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """Whether an Azure action pattern (`*` wildcards, case-insensitive) covers `action`."""
    return bool(_pattern(pattern).match(action))


def scope_covers(scope: str, resource_id: str) -> bool:
    """Whether an assignment at `scope` applies to `resource_id` (itself or a descendant, any case)."""
    scope, resource_id = scope.rstrip("/").lower(), resource_id.rstrip("/").lower()
    return scope == "" or resource_id == scope or resource_id.startswith(scope + "/")


def custom_role(config: RoleDefinitionConfig) -> RoleDefinition:
    """A role definition from a `[[custom_roles]]` config entry."""
    return RoleDefinition(
        name=config.name,
        actions=tuple(config.actions),
        not_actions=tuple(config.not_actions),
        data_actions=tuple(config.data_actions),
        not_data_actions=tuple(config.not_data_actions),
    )


@dataclass
class Rbac:
    """The role assignments in force; mutable at run time (the admin API may add assignments)."""

    assignments: list[RoleAssignment] = field(default_factory=list)
    roles: dict[str, RoleDefinition] = field(default_factory=dict)

    @classmethod
    def from_config(cls, assignments: list[RoleAssignment], custom_roles: list[RoleDefinitionConfig]) -> Rbac:
        """Built-in roles plus the config's custom roles, with the config's assignments."""
        roles = {name.lower(): role for name, role in BUILTIN_ROLES.items()}
        roles.update({role.name.lower(): custom_role(role) for role in custom_roles})
        return cls(assignments=list(assignments), roles=roles)

    def role(self, name: str) -> RoleDefinition:
        """The role with this name (case-insensitive); KeyError if unknown."""
        return self.roles[name.lower()]

    def check(self, principal_id: str, action: str, scope: str, data_action: bool = False) -> bool:
        """True when some assignment of `principal_id` covering `scope` grants `action`."""
        principal_id = principal_id.lower()
        for assignment in self.assignments:
            if assignment.principal_id.lower() != principal_id or not scope_covers(assignment.scope, scope):
                continue
            role = self.roles.get(assignment.role.lower())
            if role is not None and role.allows(action, data_action):
                return True
        return False

    def add(self, assignment: RoleAssignment) -> None:
        """Grant a role at run time; raises KeyError when the role is unknown."""
        self.role(assignment.role)
        self.assignments.append(assignment)
