// Role assignments scoped to one resource each (infra/roles/assignments.json): the capture account (SAS for
// Network Watcher, blob read and delegation key for the app), the host account, App Insights and ACS.
param principalId string
param hostStorageName string
param captureStorageName string
param appInsightsName string
param communicationName string
@description('Custom role definition ids by role file name (custom-roles.bicep output).')
param customRoleIds object

var assignments = loadJsonContent('../roles/assignments.json').assignments

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

// A built-in role by its GUID, a custom role by its file name.
func roleId(a object, custom object) string => contains(a, 'customRole') ? custom[a.customRole] : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)

resource hostAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, a => a.scope == 'hostStorage'): {
    name: guid(hostStorage.id, principalId, roleId(a, customRoleIds))
    scope: hostStorage
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: roleId(a, customRoleIds)
    }
  }
]

resource captureAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, a => a.scope == 'captureStorage'): {
    name: guid(captureStorage.id, principalId, roleId(a, customRoleIds))
    scope: captureStorage
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: roleId(a, customRoleIds)
    }
  }
]

resource insightsAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, a => a.scope == 'appInsights'): {
    name: guid(appInsights.id, principalId, roleId(a, customRoleIds))
    scope: appInsights
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: roleId(a, customRoleIds)
    }
  }
]

resource communicationAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, a => a.scope == 'communication'): {
    name: guid(communication.id, principalId, roleId(a, customRoleIds))
    scope: communication
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: roleId(a, customRoleIds)
    }
  }
]
