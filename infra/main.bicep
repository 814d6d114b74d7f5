// alertcap: function app (Flex Consumption) with one user-assigned identity, identity-only storage, ACS Email,
// App Insights without local auth, and the least-privilege roles of docs/settings.md.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; part of every resource name.')
param environmentName string

@minLength(1)
@description('Region of the app and its resources (captures work in every region with a Network Watcher).')
param location string

@description('Operators to email, separated by ";".')
param emailRecipients string

@description('Let the app install the Network Watcher agent extension (grants virtualMachines/extensions/write).')
param agentAutoInstall bool = false

@description('Let the app create a missing Network Watcher and NetworkWatcherRG (grants their writes).')
param networkWatcherAutoCreate bool = false

@description('Capture time limit in seconds (Network Watcher maximum 18000).')
@maxValue(18000)
param captureTimeLimitSeconds int = 300

@description('Optional overrides of generated names.')
param resourceGroupName string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

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

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    siteName: '${abbrs.webSitesFunctions}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'alertcap' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageName: storage.outputs.hostStorageName
    appInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: {
      ARM_ENDPOINT: environment().resourceManager
      ARM_AUDIENCE: environment().resourceManager
      ACS_ENDPOINT: comms.outputs.endpoint
      EMAIL_SENDER: comms.outputs.senderAddress
      EMAIL_RECIPIENTS: emailRecipients
      CAPTURE_STORAGE_ACCOUNT_ID: storage.outputs.captureStorageId
      CAPTURE_TIME_LIMIT_SECONDS: string(captureTimeLimitSeconds)
      AGENT_AUTO_INSTALL: string(agentAutoInstall)
      NETWORK_WATCHER_AUTO_CREATE: string(networkWatcherAutoCreate)
      ALLOWED_SCOPES: subscription().id
    }
  }
}

// Control plane: the custom role at the subscription (captures may target any VM in it).
module captureRole 'app/capture-role.bicep' = {
  name: 'capture-role'
  params: {
    principalId: identity.outputs.principalId
    agentAutoInstall: agentAutoInstall
    networkWatcherAutoCreate: networkWatcherAutoCreate
    roleName: 'alertcap packet capture operator (${environmentName})'
  }
}

// Data plane and email, each scoped to one resource.
module resourceRoles 'app/resource-roles.bicep' = {
  name: 'resource-roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    hostStorageName: storage.outputs.hostStorageName
    captureStorageName: storage.outputs.captureStorageName
    appInsightsName: monitoring.outputs.appInsightsName
    communicationName: comms.outputs.name
    emailSenderRoleId: captureRole.outputs.emailRoleId
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output ALERTCAP_WEBHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api/alerts'
output ALERTCAP_CAPTURE_STORAGE_ACCOUNT_ID string = storage.outputs.captureStorageId
