"""Azure RBAC as ARM evaluates it: role definitions with wildcard actions, assignments at a scope.

An action is allowed when some assignment of the principal has a scope that is the resource id or one of its
ancestors (case-insensitive, whole path segments), and its role has an `actions` pattern matching the action
and no `notActions` pattern matching it. `*` matches any run of characters (slashes included),
case-insensitively.
Data actions (`dataActions`/`notDataActions`) are checked separately, as in Azure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devstack.common.builtin_roles import BUILTIN_ROLES
from devstack.common.roles import RoleDefinition, action_matches  # noqa: F401  (re-exported)
from devstack.schema import RoleAssignment, RoleDefinitionConfig


def scope_covers(scope: str, resource_id: str) -> bool:
    """Whether an assignment at `scope` applies to `resource_id` (itself or a descendant, any case)."""
    scope, resource_id = scope.rstrip("/").lower(), resource_id.rstrip("/").lower()
    return scope == "" or resource_id == scope or resource_id.startswith(scope + "/")


def custom_role(config: RoleDefinitionConfig) -> RoleDefinition:
    """A role definition from an `infra/roles/*.json` custom role."""
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
