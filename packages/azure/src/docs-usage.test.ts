import { describe, expect, it } from 'vitest';
import { createService } from '@spothedge/core';
import { createAzureProvider } from './index.js';
import { CountingCredential } from './testing/fake-arm-client.js';

// Mirrors the snippet at the top of docs/providers/azure.md (with a stand-in credential:
// the package does not depend on @azure/identity), so the documented API stays real.
describe('docs/providers/azure.md usage', () => {
  it('creates the provider and a service exactly as documented, without calling Azure', () => {
    const credential = new CountingCredential();
    const azure = createAzureProvider({
      subscriptionId: '11111111-2222-4333-8444-555555555555',
      resourceGroup: 'llm-serving',
      locations: [{ region: 'eastus', zones: ['1', '2', '3'] }, { region: 'westus' }],
      vmSize: 'Standard_NC4as_T4_v3',
      image: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
      subnetIds: {
        eastus:
          '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet-eastus/subnets/replicas',
        westus:
          '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet-westus/subnets/replicas',
      },
      sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops@example.com',
      credential,
      replicaPort: 8080,
      tags: { team: 'ml-serving' },
    });
    const service = createService({
      spec: {
        name: 'llama',
        replicas: 3,
        locations: azure.locations().map((location) => location.id),
        instanceType: 'Standard_NC4as_T4_v3',
        port: 8080,
        startupScript: '#!/bin/bash\n/opt/model/serve --port 8080\n',
      },
      providers: [azure],
    });
    expect(typeof service.start).toBe('function');
    expect(azure.locations()).toHaveLength(4);
    expect(credential.tokenRequests).toBe(0);
  });
});
