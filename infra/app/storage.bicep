// Two StorageV2 accounts with the properties of infra/storage-accounts.json: the Functions host's (identity only:
// Durable task hub, deployment package) and the capture account Network Watcher writes .cap files into (Network
// Watcher writes with a SAS, so that account must allow shared keys; the app itself only uses its identity).
param hostStorageName string
param captureStorageName string
param location string
param tags object

var accounts = loadJsonContent('../storage-accounts.json')

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(hostStorageName, 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: accounts.host
}

resource hostBlob 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: host
  name: 'default'
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlob
  name: 'deploymentpackage'
}

resource capture 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(captureStorageName, 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' } // Network Watcher does not support Premium accounts
  properties: accounts.capture
}

output hostStorageName string = host.name
output hostBlobEndpoint string = host.properties.primaryEndpoints.blob
output captureStorageName string = capture.name
output captureStorageId string = capture.id
