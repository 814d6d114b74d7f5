// The action group that calls alertcap (/api/alerts with the function key and/or, as a secure webhook, an Entra
// ID token, per webhookAuth; common alert schema) and an optional example metric alert rule on one VM. Attach the action group to any other rule through its id (output).
param actionGroupName string
param siteName string
param tags object
@description('ARM id of a VM for the example rule; empty = no rule.')
param alertVmId string
param alertThresholdBytes int
@description('WEBHOOK_AUTH: key (function key in the URL), entra (secure webhook: Entra ID token, no key), key+entra.')
@allowed(['key', 'entra', 'key+entra'])
param webhookAuth string
@description('With entra/key+entra: the app registration the secure webhook asks tokens for (secure-webhook.bicep outputs objectId, identifierUri, tenantId).')
param secureWebhook object = {}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

var webhookUrl = 'https://${site.properties.defaultHostName}/api/alerts'
var keyedWebhookUrl = '${webhookUrl}?code=${listKeys('${site.id}/host/default', '2024-04-01').functionKeys.default}'
var withKey = webhookAuth != 'entra'
var withToken = webhookAuth != 'key'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'alertcap'
    enabled: true
    // A secure webhook (useAadAuth) makes Azure Monitor send an Entra ID token for the app registration
    // (https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook); the key stays in
    // the URL unless webhookAuth is entra.
    webhookReceivers: [
      union({
        name: 'alertcap'
        serviceUri: withKey ? keyedWebhookUrl : webhookUrl
        useCommonAlertSchema: true
        useAadAuth: withToken
      }, withToken ? {
        objectId: secureWebhook.objectId
        identifierUri: secureWebhook.identifierUri
        tenantId: secureWebhook.tenantId
      } : {})
    ]
  }
}

// "Network Out Total" (bytes, Total aggregation) is a platform metric of Microsoft.Compute/virtualMachines.
resource exampleRule 'Microsoft.Insights/metricAlerts@2018-03-01' = if (!empty(alertVmId)) {
  name: 'alertcap-network-out-${uniqueString(alertVmId)}'
  location: 'global'
  tags: tags
  properties: {
    description: 'alertcap example: the VM sent more than ${alertThresholdBytes} bytes in 5 minutes; capture its traffic.'
    severity: 3
    enabled: true
    scopes: [alertVmId]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'network-out-total'
          metricNamespace: 'Microsoft.Compute/virtualMachines'
          metricName: 'Network Out Total'
          operator: 'GreaterThan'
          threshold: alertThresholdBytes
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [{ actionGroupId: actionGroup.id }]
  }
}

output actionGroupId string = actionGroup.id
