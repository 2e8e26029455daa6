import { describe, expect, it } from 'vitest';
import { ManualClock } from '@spothedge/core/testing';
import { createService, type InstanceState } from '@spothedge/core';
import { TEST_VM_SIZE, startFakeAzure } from './testing/fake-azure-setup.js';

// The real engine (createService) driving the Azure provider through the real client
// against the ARM fake: replicas launch, an eviction is noticed and replaced, stop
// terminates everything. Ticks are run by hand under a virtual clock.
describe('createService with the Azure provider (ARM fake)', () => {
  it('launches replicas, replaces an evicted Spot VM and terminates on stop', async () => {
    const setup = await startFakeAzure();
    const { fake, provider } = setup;
    fake.setRetailPrice('eastus', TEST_VM_SIZE, { spot: 0.02, onDemand: 0.1 });
    fake.setRetailPrice('westus', TEST_VM_SIZE, { spot: 0.025, onDemand: 0.11 });
    const clock = new ManualClock({ now: Date.now() });
    const service = createService({
      spec: {
        name: 'chat',
        replicas: 2,
        locations: provider.locations().map((location) => location.id),
        instanceType: TEST_VM_SIZE,
      },
      providers: [provider],
      clock,
      prober: { probe: () => true },
      drainMs: 0,
    });
    const alive = (): string[] =>
      fake.vms
        .filter((vm) => vm.provisioningState !== 'Deleting' && vm.power !== 'deallocated')
        .map((vm) => vm.name);
    const settle = async (done: () => boolean): Promise<void> => {
      for (let tick = 0; tick < 30 && !done(); tick += 1) {
        await service.reconcile();
        await service.manager.idle();
        await clock.advance(30_000);
      }
    };
    try {
      await settle(() => service.status().ready.length >= 2);
      expect(service.status().ready.length).toBeGreaterThanOrEqual(2);
      const before = alive();
      expect(before.length).toBeGreaterThanOrEqual(2);

      const spotVm = fake.vms.find((vm) => vm.priority === 'Spot');
      expect(spotVm).toBeDefined();
      fake.evict(spotVm!.name);
      await settle(
        () => service.status().ready.length >= 2 && alive().some((name) => !before.includes(name)),
      );
      expect(alive().some((name) => !before.includes(name))).toBe(true);
      expect(service.status().ready.length).toBeGreaterThanOrEqual(2);

      await service.stop({ terminate: true });
      const states: InstanceState[] = (await provider.list({ tags: {} })).map(
        (instance) => instance.state,
      );
      expect(states.filter((state) => state === 'running' || state === 'pending')).toEqual([]);
      expect(setup.credential.tokenRequests).toBe(0);
    } finally {
      await service.destroy().catch(() => undefined);
      await setup.close();
    }
  });
});
