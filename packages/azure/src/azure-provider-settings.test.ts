import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '@spothedge/core';
import { createAzureProvider } from './azure-provider.js';
import type { AzureProviderSettings } from './azure-provider-settings.js';
import { CountingCredential } from './testing/fake-arm-client.js';
import { TEST_SSH_KEY } from './testing/fake-azure-setup.js';

const credential = new CountingCredential();
const valid: AzureProviderSettings = {
  subscriptionId: '11111111-2222-4333-8444-555555555555',
  resourceGroup: 'llm-serving',
  locations: [{ region: 'eastus', zones: ['1', '2', '3'] }, { region: 'westus' }],
  vmSize: 'Standard_NC4as_T4_v3',
  image: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
  subnetId:
    '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/replicas',
  sshPublicKey: TEST_SSH_KEY,
  credential,
};

function settingOf(overrides: Record<string, unknown>): string | undefined {
  try {
    createAzureProvider({ ...valid, ...overrides } as AzureProviderSettings);
  } catch (error) {
    if (InvalidConfigError.isInstance(error)) return error.setting;
    throw error;
  }
  return undefined;
}

describe('AzureProviderSettings validation', () => {
  it('accepts valid settings without calling Azure or asking for a token', () => {
    const provider = createAzureProvider(valid);
    expect(provider.name).toBe('azure');
    expect(provider.locations().map((location) => location.id)).toEqual([
      'azure/eastus/1',
      'azure/eastus/2',
      'azure/eastus/3',
      'azure/westus',
    ]);
    expect(provider.locations()[0]).toEqual({
      id: 'azure/eastus/1',
      cloud: 'azure',
      region: 'eastus',
      zone: '1',
    });
    expect(credential.tokenRequests).toBe(0);
  });

  it.each([
    ['subscriptionId', { subscriptionId: 'my-subscription' }],
    ['resourceGroup', { resourceGroup: '' }],
    ['resourceGroup', { resourceGroup: 'ends-with-dot.' }],
    ['locations', { locations: [] }],
    ['locations[0].region', { locations: [{ region: 'East US' }] }],
    ['locations[1].region', { locations: [{ region: 'eastus' }, { region: 'eastus' }] }],
    ['locations[0].zones[0]', { locations: [{ region: 'eastus', zones: ['a'] }] }],
    ['locations[0].zones', { locations: [{ region: 'eastus', zones: ['1', '1'] }] }],
    ['vmSize', { vmSize: '' }],
    ['image', { image: 'ubuntu' }],
    ['image.sku', { image: { publisher: 'Canonical', offer: 'ubuntu' } }],
    ['image.id', { image: { id: 'not-an-id' } }],
    ['subnetId', { subnetId: 'subnet-1' }],
    ['subnetId', { subnetId: undefined }],
    ['subnetIds.eastus', { subnetIds: { eastus: 'nope' } }],
    ['adminUsername', { adminUsername: 'Admin User' }],
    ['adminUsername', { adminUsername: 'root' }],
    ['sshPublicKey', { sshPublicKey: 'not a key' }],
    ['startupScript', { startupScript: 'x'.repeat(70_000) }],
    ['credential', { credential: undefined }],
    ['credential', { createClient: () => undefined }],
    ['credential', { credential: {} }],
    ['armEndpoint', { armEndpoint: 'ftp://example.com' }],
    ['pollIntervalMs', { pollIntervalMs: 0 }],
    ['maxRetries', { maxRetries: 1.5 }],
    ['replicaPort', { replicaPort: 70_000 }],
    ['namePrefix', { namePrefix: 'Has Spaces' }],
    ['evictionPolicy', { evictionPolicy: 'Stop' }],
    ['spotMaxPrice', { spotMaxPrice: 0 }],
    ['osDiskSizeGb', { osDiskSizeGb: -1 }],
    ['tags.a/b', { tags: { 'a/b': 'x' } }],
    ['tags.owner', { tags: { owner: 'x'.repeat(300) } }],
    ['prices.fetch', { prices: { fetch: 'fetch' } }],
    ['prices.cacheTtlMs', { prices: { cacheTtlMs: -5 } }],
    ['prices.overrides.eastus.spot', { prices: { overrides: { eastus: { spot: -1 } } } }],
    ['prices.overrides.East US', { prices: { overrides: { 'East US': { spot: 1 } } } }],
  ])('names `%s` for %j', (setting, overrides) => {
    expect(settingOf(overrides)).toBe(setting);
  });

  it('names the setting and the value in the message', () => {
    let caught: unknown;
    try {
      createAzureProvider({ ...valid, vmSize: 'Standard D2' });
    } catch (error) {
      caught = error;
    }
    expect(InvalidConfigError.isInstance(caught)).toBe(true);
    expect((caught as InvalidConfigError).message).toBe(
      'Expected `vmSize` to be a VM size such as `Standard_D2s_v5`, got `"Standard D2"` (string)',
    );
    expect((caught as InvalidConfigError).value).toBe('Standard D2');
  });

  it('accepts per-region subnets instead of one subnet', () => {
    const subnet = valid.subnetId!;
    expect(
      settingOf({ subnetId: undefined, subnetIds: { eastus: subnet, westus: subnet } }),
    ).toBeUndefined();
    expect(settingOf({ subnetId: undefined, subnetIds: { eastus: subnet } })).toBe('subnetId');
  });

  it('accepts a client factory instead of a credential', () => {
    expect(
      settingOf({ credential: undefined, createClient: () => createAzureProvider(valid).client }),
    ).toBeUndefined();
  });
});
