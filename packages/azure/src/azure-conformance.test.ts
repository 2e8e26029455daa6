import { runProviderConformanceSuite, type ConformanceHarness } from '@spothedge/core/testing';
import { parseLocationId } from '@spothedge/core';
import { TEST_VM_SIZE, startFakeAzure } from './testing/fake-azure-setup.js';

async function createHarness(evictionPolicy: 'Delete' | 'Deallocate'): Promise<ConformanceHarness> {
  const setup = await startFakeAzure({ settings: { evictionPolicy } });
  const { fake, provider } = setup;
  fake.setRetailPrice('eastus', TEST_VM_SIZE, { spot: 0.02, onDemand: 0.1 });
  const nameOf = (instanceId: string): string => instanceId.split('/').pop() ?? instanceId;
  return {
    provider,
    location: 'azure/eastus/1',
    instanceType: TEST_VM_SIZE,
    unknownInstanceId: `/subscriptions/${fake.subscriptionId}/resourceGroups/${fake.resourceGroup}/providers/Microsoft.Compute/virtualMachines/spothedge-never-launched`,
    exhaustSpotCapacity(location) {
      const { region, zone } = parseLocationId(location);
      fake.setCapacity(region, zone, 'spot', 0);
    },
    preempt(instanceId) {
      fake.evict(nameOf(instanceId));
    },
    createForeignInstance(location) {
      const { region, zone } = parseLocationId(location);
      return fake.createForeignVm(region, zone);
    },
    instanceExists(instanceId) {
      const vm = fake.vm(nameOf(instanceId));
      return vm !== undefined && vm.provisioningState !== 'Deleting';
    },
    async close() {
      await setup.close();
      // The whole suite runs through the real client without ever fetching a token.
      if (setup.credential.tokenRequests !== 0) {
        throw new Error(`A token was requested ${setup.credential.tokenRequests} time(s)`);
      }
    },
  };
}

runProviderConformanceSuite({
  name: 'azure (ARM fake, eviction policy Delete)',
  createHarness: () => createHarness('Delete'),
  timeoutMs: 5_000,
});

runProviderConformanceSuite({
  name: 'azure (ARM fake, eviction policy Deallocate)',
  createHarness: () => createHarness('Deallocate'),
  timeoutMs: 5_000,
});
