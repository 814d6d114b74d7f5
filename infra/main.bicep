// alertcap: function app (Flex Consumption) with one user-assigned identity, identity-only host storage, a capture
// account Network Watcher can write to (SAS), ACS Email, App Insights without local auth, the least-privilege roles
// of infra/roles/ and an action group (plus an optional example alert rule) that calls the app.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; part of every resource name.')
param environmentName string

@minLength(1)
@description('Region of the app and its resources: one with Flex Consumption (the list of the official azd samples). Captures work for VMs in every region that has a Network Watcher.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@minLength(3)
@description('Operators to email, separated by ";".')
param emailRecipients string

@description('"true": the app installs the Network Watcher agent extension on VMs that lack it (grants virtualMachines/extensions/write through a separate role). A string so azd can pass ALERTCAP_AGENT_AUTO_INSTALL.')
@allowed(['true', 'false'])
param agentAutoInstall string = 'false'

@description('"true": the app creates a missing Network Watcher (and NetworkWatcherRG) in a VM\'s region (grants their writes through a separate role).')
@allowed(['true', 'false'])
param networkWatcherAutoCreate string = 'false'

@description('Capture time limit in seconds (Network Watcher maximum 18000).')
@minValue(1)
@maxValue(18000)
param captureTimeLimitSeconds int = 300

@description('Optional: ARM id of a VM for the example metric alert rule ("Network Out Total" above alertThresholdBytes). Empty: no rule.')
param alertVmId string = ''

@description('Bytes sent by the VM in 5 minutes above which the example rule fires.')
@minValue(1)
param alertThresholdBytes int = 500000000

@description('How Azure Monitor authenticates to the webhook (WEBHOOK_AUTH): key = the function key in the URL; entra = a secure webhook (an Entra ID token for an app registration this template creates with the Microsoft Graph Bicep extension; the deployer needs Entra rights, see docs/webhook-auth.md); key+entra = both.')
@allowed(['key', 'entra', 'key+entra'])
param webhookAuth string = 'key'

@description('Optional override of the resource group name.')
param resourceGroupName string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var switches = {
  agentAutoInstall: agentAutoInstall == 'true'
  networkWatcherAutoCreate: networkWatcherAutoCreate == 'true'
}
var webhookEntra = webhookAuth != 'key'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}alertcap-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    hostStorageName: '${abbrs.storageStorageAccounts}host${resourceToken}'
    captureStorageName: '${abbrs.storageStorageAccounts}cap${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module comms 'app/comms.bicep' = {
  name: 'comms'
  scope: rg
  params: {
    communicationName: '${abbrs.communicationServices}${resourceToken}'
    emailServiceName: '${abbrs.emailServices}${resourceToken}'
    tags: tags
  }
}

// With webhookAuth entra or key+entra: the app registration Azure Monitor's tokens are for, its
// ActionGroupsSecureWebhook app role, and Azure Monitor's service principal assigned it (Microsoft Graph).
module secureWebhook 'app/secure-webhook.bicep' = if (webhookEntra) {
  name: 'secure-webhook'
  scope: rg
  params: {
    uniqueName: 'alertcap-webhook-${resourceToken}'
    displayName: 'alertcap webhook (${environmentName})'
  }
}
var webhookApp = webhookEntra ? {
  objectId: secureWebhook!.outputs.objectId
  clientId: secureWebhook!.outputs.clientId
  identifierUri: secureWebhook!.outputs.identifierUri
  tenantId: secureWebhook!.outputs.tenantId
} : { objectId: '', clientId: '', identifierUri: '', tenantId: '' }

// Every app setting is named in app-settings.json (the devstack gives the host the same names); this object
// holds the value each one takes in Azure, by the key app-settings.json names.
var settingValues = {
  hostStorageName: storage.outputs.hostStorageName
  managedIdentityCredential: 'managedidentity'
  identityClientId: identity.outputs.clientId
  appInsightsConnectionString: monitoring.outputs.connectionString
  appInsightsAuthentication: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  armEndpoint: environment().resourceManager
  armAudience: environment().resourceManager
  acsEndpoint: comms.outputs.endpoint
  emailSender: comms.outputs.senderAddress
  emailRecipients: emailRecipients
  captureStorageAccountId: storage.outputs.captureStorageId
  captureTimeLimitSeconds: string(captureTimeLimitSeconds)
  agentAutoInstall: agentAutoInstall
  networkWatcherAutoCreate: networkWatcherAutoCreate
  allowedScopes: subscription().id
  webhookAuth: webhookAuth
  webhookTenantId: tenant().tenantId
  // v1 tokens carry the identifier URI (what the action group asks for), v2 tokens the client id
  webhookAudiences: webhookEntra ? '${webhookApp.identifierUri};${webhookApp.clientId}' : ''
  webhookAuthorityHost: environment().authentication.loginEndpoint
}
var settingSpec = loadJsonContent('app-settings.json').settings

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    siteName: '${abbrs.webSitesFunctions}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'alertcap' })
    identityId: identity.outputs.id
    hostStorageName: storage.outputs.hostStorageName
    appSettings: toObject(items(settingSpec), s => s.key, s => settingValues[s.value.bicep])
  }
}

// Custom roles (infra/roles/*.json) and the subscription-wide assignment of the capture operator role.
module customRoles 'app/custom-roles.bicep' = {
  name: 'custom-roles'
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
    switches: switches
  }
}

// Assignments scoped to one resource each (capture account, host account, App Insights, ACS).
module resourceRoles 'app/resource-roles.bicep' = {
  name: 'resource-roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    hostStorageName: storage.outputs.hostStorageName
    captureStorageName: storage.outputs.captureStorageName
    appInsightsName: monitoring.outputs.appInsightsName
    communicationName: comms.outputs.name
    customRoleIds: customRoles.outputs.roleIds
  }
}

// The action group that calls /api/alerts (and the optional example rule on alertVmId).
module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    actionGroupName: 'ag-alertcap-${resourceToken}'
    siteName: functionApp.outputs.name
    tags: tags
    alertVmId: alertVmId
    alertThresholdBytes: alertThresholdBytes
    webhookAuth: webhookAuth
    secureWebhook: webhookApp
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output ALERTCAP_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
@description('The webhook without its key: the action group calls it with ?code=<function key> (unless webhookAuth is entra).')
output ALERTCAP_WEBHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api/alerts'
@description('Add this action group to any alert rule (actions.actionGroups) to capture on its alerts.')
output ALERTCAP_ACTION_GROUP_ID string = alerts.outputs.actionGroupId
output ALERTCAP_CAPTURE_STORAGE_ACCOUNT_ID string = storage.outputs.captureStorageId
output ALERTCAP_WEBHOOK_AUTH string = webhookAuth
@description('entra/key+entra: the app registration of the secure webhook (client id; empty with key).')
output ALERTCAP_WEBHOOK_APP_CLIENT_ID string = webhookEntra ? webhookApp.clientId : ''
@description('entra/key+entra: its application id URI (the action group\'s identifierUri; empty with key).')
output ALERTCAP_WEBHOOK_APP_ID_URI string = webhookEntra ? webhookApp.identifierUri : ''
