// Two StorageV2 accounts, identity-only (no shared keys): the Functions host's (Durable task hub, deployment
// package) and the capture account Network Watcher writes .cap files into.
param hostStorageName string
param captureStorageName string
param location string
param tags object

var common = {
  allowBlobPublicAccess: false
  allowSharedKeyAccess: false
  minimumTlsVersion: 'TLS1_2'
  supportsHttpsTrafficOnly: true
}

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(hostStorageName, 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: common
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  name: '${host.name}/default/deploymentpackage'
}

resource capture 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(captureStorageName, 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' } // Network Watcher does not support Premium accounts
  properties: common
}

output hostStorageName string = host.name
output hostBlobEndpoint string = host.properties.primaryEndpoints.blob
output captureStorageName string = capture.name
output captureStorageId string = capture.id
