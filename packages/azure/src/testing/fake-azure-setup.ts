/**
 * Test-only: an {@link ArmFake} plus an Azure provider wired to it through the real
 * client, with the settings tests share.
 */
import { createAzureProvider, type AzureProvider } from '../azure-provider.js';
import type { AzureProviderSettings } from '../azure-provider-settings.js';
import { ArmFake, type ArmFakeOptions } from './arm-fake.js';
import { CountingCredential, fakeArmClientFactory } from './fake-arm-client.js';

export const TEST_VM_SIZE = 'Standard_D2s_v5';
export const TEST_SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@spothedge';

export interface FakeAzureSetup {
  readonly fake: ArmFake;
  readonly provider: AzureProvider;
  readonly credential: CountingCredential;
  close(): Promise<void>;
}

/** Settings pointing at `fake` (override anything with `overrides`). */
export function fakeAzureSettings(
  fake: ArmFake,
  credential: CountingCredential,
  overrides: Partial<AzureProviderSettings> = {},
): AzureProviderSettings {
  return {
    subscriptionId: fake.subscriptionId,
    resourceGroup: fake.resourceGroup,
    locations: [
      { region: 'eastus', zones: ['1', '2'] },
      { region: 'westus', zones: [] },
    ],
    vmSize: TEST_VM_SIZE,
    image: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
    subnetId: `/subscriptions/${fake.subscriptionId}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/replicas`,
    sshPublicKey: TEST_SSH_KEY,
    createClient: fakeArmClientFactory(credential),
    armEndpoint: fake.url,
    pollIntervalMs: 5,
    prices: { endpoint: fake.pricesUrl },
    ...overrides,
  };
}

/** Starts a fake and a provider over it. */
export async function startFakeAzure(
  options: { fake?: ArmFakeOptions; settings?: Partial<AzureProviderSettings> } = {},
): Promise<FakeAzureSetup> {
  const fake = await ArmFake.start(options.fake);
  const credential = new CountingCredential();
  const provider = createAzureProvider(fakeAzureSettings(fake, credential, options.settings));
  return {
    fake,
    provider,
    credential,
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}
