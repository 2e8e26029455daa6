import { ManualClock, runProviderConformanceSuite } from '@spothedge/core/testing';
import { generateSyntheticTrace } from './synthetic-trace.js';
import { TraceProvider } from './trace-provider.js';

runProviderConformanceSuite({
  name: 'TraceProvider',
  createHarness() {
    const clock = new ManualClock({ now: 0 });
    // Plenty of capacity everywhere, no outages: the suite scripts its own failures.
    const trace = generateSyntheticTrace({
      seed: 1,
      hours: 2,
      maxCapacity: 50,
      diurnalAmplitude: 0,
      outagesPerDay: 0,
      dipsPerDay: 0,
    });
    const provider = new TraceProvider({ trace, clock });
    const location = trace.zones[0]!.location;
    return {
      provider,
      location,
      instanceType: 'gpu',
      exhaustSpotCapacity: (where) => provider.overrideCapacity(where, 0),
      preempt: (instanceId) => provider.preempt(instanceId),
      createForeignInstance: async (where) =>
        (
          await provider.launch({
            location: where,
            capacityType: 'on-demand',
            instanceType: 'gpu',
            tags: { owner: 'someone-else' },
            idempotencyKey: `foreign-${Math.random().toString(36).slice(2)}`,
          })
        ).id,
    };
  },
});
