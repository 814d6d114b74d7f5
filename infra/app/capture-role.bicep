// The least-privilege custom roles (docs/settings.md) and the subscription-wide control-plane assignment.
targetScope = 'subscription'

param principalId string
param agentAutoInstall bool
param networkWatcherAutoCreate bool
param roleName string

var captureActions = [
  'Microsoft.Network/networkWatchers/read'
  'Microsoft.Network/networkWatchers/packetCaptures/read'
  'Microsoft.Network/networkWatchers/packetCaptures/write'
  'Microsoft.Network/networkWatchers/packetCaptures/delete'
  'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action'
  'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/read'
  'Microsoft.Network/networkWatchers/packetCaptures/stop/action'
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Compute/virtualMachines/extensions/read'
  'Microsoft.Compute/virtualMachineScaleSets/read'
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read'
  // Network Watcher writes the capture into the storage account on the caller's behalf
  'Microsoft.Storage/storageAccounts/read'
  'Microsoft.Storage/storageAccounts/listServiceSas/action'
  'Microsoft.Storage/storageAccounts/listAccountSas/action'
  'Microsoft.Storage/storageAccounts/listKeys/action'
  'Microsoft.Authorization/*/read'
  'Microsoft.Resources/subscriptions/resourceGroups/read'
]
var installActions = [
  'Microsoft.Compute/virtualMachines/extensions/write'
  // a scale set: the agent goes on its model, then the captured instances get the latest model
  'Microsoft.Compute/virtualMachineScaleSets/extensions/read'
  'Microsoft.Compute/virtualMachineScaleSets/extensions/write'
  'Microsoft.Compute/virtualMachineScaleSets/manualUpgrade/action'
]
// NETWORK_WATCHER_AUTO_CREATE: NetworkWatcherRG and NetworkWatcher_<region> where a region has none
var watcherCreateActions = [
  'Microsoft.Resources/subscriptions/resourceGroups/write'
  'Microsoft.Network/networkWatchers/write'
]
var optionalActions = concat(agentAutoInstall ? installActions : [], networkWatcherAutoCreate ? watcherCreateActions : [])
var roleActions = concat(captureActions, optionalActions)

resource captureRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'alertcap: create, watch, stop and clean up Network Watcher packet captures; read VMs.'
    type: 'CustomRole'
    permissions: [{ actions: roleActions }]
    assignableScopes: [subscription().id]
  }
}

resource emailRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName, 'email')
  properties: {
    roleName: '${roleName} - email sender'
    description: 'alertcap: send email through one Communication Services resource with Entra ID.'
    type: 'CustomRole'
    permissions: [{ actions: [
      'Microsoft.Communication/CommunicationServices/Read'
      'Microsoft.Communication/CommunicationServices/Write'
    ] }]
    assignableScopes: [subscription().id]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, captureRole.id)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: captureRole.id
  }
}

output emailRoleId string = emailRole.id
