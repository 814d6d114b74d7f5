// Secure webhook (optional, WEBHOOK_AUTH = entra | key+entra): the app registration whose tokens Azure Monitor
// presents, its ActionGroupsSecureWebhook app role, and Azure Monitor's service principal assigned that role.
// See docs/webhook-auth.md and https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook
//
// Uses the Microsoft Graph Bicep extension (https://learn.microsoft.com/graph/templates/reference/overview),
// version pinned by the alias in infra/bicepconfig.json (the alias form is also what checkov's parser reads).
// Deployed only when main.bicep's webhookAuth is entra or key+entra. The identity running `azd provision`
// needs, in Entra ID, Application.ReadWrite.All (or the Application Developer / Cloud Application
// Administrator role) and AppRoleAssignment.ReadWrite.All: see docs/webhook-auth.md#deploying-with-azd.
extension microsoftGraphV1

@description('Immutable unique name of the app registration; also the last segment of its application id URI.')
param uniqueName string

@description('Display name of the app registration.')
param displayName string

var azureMonitorAppId = '461e8683-5575-4561-ac7f-899cc907d62a' // Azure Monitor's application (secure webhooks)
var roleValue = 'ActionGroupsSecureWebhook'
var roleId = guid(tenant().tenantId, uniqueName, roleValue) // stable across deployments
// api://<tenant id>/<string> satisfies Entra's default app id URI policy without knowing the client id first.
var identifierUri = 'api://${tenant().tenantId}/${uniqueName}'

resource webhookApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [identifierUri]
  appRoles: [
    {
      id: roleId
      value: roleValue
      displayName: roleValue
      description: 'Azure Monitor action groups may call the alertcap webhook.'
      allowedMemberTypes: ['Application']
      isEnabled: true
    }
  ]
}

// Only principals assigned a role (Azure Monitor, below) can get a token for this registration at all.
resource webhookSp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: webhookApp.appId
  appRoleAssignmentRequired: true
}

// Declared rather than `existing`: created in the tenant if it is missing (keyed by appId), unchanged otherwise.
resource azureMonitorSp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: azureMonitorAppId
}

resource azureMonitorRole 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: roleId
  principalId: azureMonitorSp.id
  resourceId: webhookSp.id
}

@description('Object id of the app registration: the webhook receiver\'s objectId.')
output objectId string = webhookApp.id
@description('Client (application) id: the aud of v2 tokens.')
output clientId string = webhookApp.appId
@description('Application id URI: the webhook receiver\'s identifierUri and the aud of v1 tokens.')
output identifierUri string = identifierUri
output tenantId string = tenant().tenantId
