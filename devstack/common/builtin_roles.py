"""The Azure built-in roles the devstack knows, with their GUIDs (role definition names) and permissions as
published in Azure's built-in roles reference (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).

`infra/roles/assignments.json` names built-in roles by GUID; devstack.infra checks each of those is here
under the same name, so the devstack evaluates what Azure would.
"""

from __future__ import annotations

from devstack.common.roles import RoleDefinition

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
        RoleDefinition(
            "Storage Blob Data Owner",
            (
                "Microsoft.Storage/storageAccounts/blobServices/containers/*",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ),
            data_actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*",),
            role_id="b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        ),
        RoleDefinition(
            "Storage Queue Data Contributor",
            (
                "Microsoft.Storage/storageAccounts/queueServices/queues/delete",
                "Microsoft.Storage/storageAccounts/queueServices/queues/read",
                "Microsoft.Storage/storageAccounts/queueServices/queues/write",
            ),
            data_actions=(
                "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
                "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
                "Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
                "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
            ),
            role_id="974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        ),
        RoleDefinition(
            "Storage Table Data Contributor",
            (
                "Microsoft.Storage/storageAccounts/tableServices/tables/read",
                "Microsoft.Storage/storageAccounts/tableServices/tables/write",
                "Microsoft.Storage/storageAccounts/tableServices/tables/delete",
            ),
            data_actions=(
                "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
                "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
                "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
                "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
                "Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action",
            ),
            role_id="0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        ),
        RoleDefinition(
            "Monitoring Metrics Publisher",
            (
                "Microsoft.Insights/Register/Action",
                "Microsoft.Support/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ),
            data_actions=("Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"),
            role_id="3913510d-42f4-4e42-8a64-420c390055eb",
        ),
    )
}


def builtin_role_by_id(role_id: str) -> RoleDefinition | None:
    """The built-in role with this GUID (any case), if the devstack knows it."""
    return next((r for r in BUILTIN_ROLES.values() if r.role_id.lower() == role_id.lower()), None)
