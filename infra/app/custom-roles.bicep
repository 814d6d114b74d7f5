// The app's custom roles (infra/roles/*.json, also read by the devstack's RBAC) and the subscription-wide
// assignment of the capture operator role. Custom role names must be unique in the tenant: each carries the
// environment name and the subscription id, so one environment name can be deployed to several subscriptions.
targetScope = 'subscription'

param principalId string
param environmentName string
@description('The main.bicep switches an assignment\'s `when` names (agentAutoInstall, networkWatcherAutoCreate).')
param switches object

var roles = {
  'capture-operator': loadJsonContent('../roles/capture-operator.json')
  'agent-installer': loadJsonContent('../roles/agent-installer.json')
  'capture-storage-sas': loadJsonContent('../roles/capture-storage-sas.json')
  'capture-blob-harvester': loadJsonContent('../roles/capture-blob-harvester.json')
  'email-sender': loadJsonContent('../roles/email-sender.json')
  'watcher-creator': loadJsonContent('../roles/watcher-creator.json')
}
var assignments = loadJsonContent('../roles/assignments.json').assignments
var subscriptionAssignments = filter(assignments, a => contains(a, 'customRole') && a.scope == 'subscription')
var wanted = filter(subscriptionAssignments, a => !contains(a, 'when') || switches[a.when])

resource definitions 'Microsoft.Authorization/roleDefinitions@2022-04-01' = [for item in items(roles): {
  name: guid(subscription().id, environmentName, item.key)
  properties: {
    roleName: '${item.value.roleName} (${environmentName}, ${subscription().subscriptionId})'
    description: item.value.description
    type: 'CustomRole'
    permissions: [
      {
        actions: item.value.actions
        notActions: item.value.notActions
        dataActions: item.value.dataActions
        notDataActions: item.value.notDataActions
      }
    ]
    assignableScopes: [subscription().id]
  }
}]

resource subscriptionAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in wanted: {
  name: guid(subscription().id, principalId, environmentName, a.customRole)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions', guid(subscription().id, environmentName, a.customRole))
  }
  dependsOn: [definitions]
}]

@description('Role definition ids of the custom roles, by file name.')
output roleIds object = toObject(items(roles), r => r.key, r => subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions', guid(subscription().id, environmentName, r.key)))
