// The action group that calls alertcap (/api/alerts with the function key, common alert schema) and an optional
// example metric alert rule on one VM. Attach the action group to any other rule through its id (output).
param actionGroupName string
param siteName string
param tags object
@description('ARM id of a VM for the example rule; empty = no rule.')
param alertVmId string
param alertThresholdBytes int

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

// One entry per way of calling the app; more receivers (e.g. a secure webhook with useAadAuth) go in this list.
var webhookReceivers = [
  {
    name: 'alertcap'
    serviceUri: 'https://${site.properties.defaultHostName}/api/alerts?code=${listKeys('${site.id}/host/default', '2024-04-01').functionKeys.default}'
    useCommonAlertSchema: true
    useAadAuth: false
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'alertcap'
    enabled: true
    webhookReceivers: webhookReceivers
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
