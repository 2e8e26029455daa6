import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProviderConformanceSuite } from '@spothedge/core/testing';
import { createLocalProvider } from './local-provider.js';

runProviderConformanceSuite({
  name: 'local (replica processes)',
  capabilities: { interruptions: true },
  timeoutMs: 15_000,
  createHarness() {
    const capacity = new Map<string, number>();
    const provider = createLocalProvider({
      locations: 2,
      stateDirectory: mkdtempSync(join(tmpdir(), 'spothedge-local-conformance-')),
      spotCapacity: (location) => capacity.get(location) ?? Number.POSITIVE_INFINITY,
      checkIntervalMs: 50,
    });
    const live = async (location?: string) =>
      (await provider.list({ tags: {} })).filter(
        (instance) =>
          (location === undefined || instance.location === location) &&
          (instance.state === 'pending' || instance.state === 'running'),
      );
    let foreign = 0;
    return {
      provider,
      location: provider.locations()[0]!.id,
      instanceType: 'local-process',
      async exhaustSpotCapacity(location) {
        // No room for more, without preempting what already runs there.
        const spot = (await live(location)).filter((instance) => instance.capacityType === 'spot');
        capacity.set(location, spot.length);
      },
      preempt: (instanceId) => provider.preempt(instanceId),
      async createForeignInstance(location) {
        const instance = await provider.launch({
          location,
          capacityType: 'on-demand',
          instanceType: 'local-process',
          tags: { owner: 'someone-else' },
          idempotencyKey: `foreign-${++foreign}`,
        });
        return instance.id;
      },
      sendInterruptionNotice: (instanceId) => provider.interrupt(instanceId, 60_000),
      instanceExists: async (instanceId) =>
        (await live()).some((instance) => instance.id === instanceId),
      close: () => provider.close(),
    };
  },
});
