// Data-plane and email role assignments, each scoped to one resource (a loop, not copied blocks).
param principalId string
param hostStorageName string
param captureStorageName string
param appInsightsName string
param communicationName string
param emailSenderRoleId string

// Built-in role definition ids
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'        // host: deployment package, leases
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // host: Durable work-item queues
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // host: Durable history/instances
// captures: size + delegation key for the email links, and the sentry's harvest (docs/sentry.md): list the
// ring, server-side copies into incidents/ (container create, blob write), deleting retired ring files
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb' // App Insights with Entra auth

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}
resource captureStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureStorageName
}
resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}
resource communication 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationName
}

var hostRoles = [storageBlobDataOwner, storageQueueDataContributor, storageTableDataContributor]

resource hostAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in hostRoles: {
  name: guid(hostStorage.id, principalId, role)
  scope: hostStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

resource captureData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(captureStorage.id, principalId, storageBlobDataContributor)
  scope: captureStorage // the capture account only
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

resource emailSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, principalId, emailSenderRoleId)
  scope: communication
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: emailSenderRoleId
  }
}
