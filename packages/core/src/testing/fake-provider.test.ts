import { describe, expect, it } from 'vitest';
import { FakeProvider, runProviderConformanceSuite } from './index.js';

runProviderConformanceSuite({
  name: 'FakeProvider',
  capabilities: { interruptions: true },
  createHarness() {
    const provider = new FakeProvider();
    return {
      provider,
      location: provider.locations()[0]!.id,
      instanceType: 'fake.large',
      exhaustSpotCapacity: (location) => provider.setCapacity(location, 0),
      preempt: (instanceId) => provider.preempt(instanceId),
      createForeignInstance: (location) => provider.createForeignInstance(location),
      sendInterruptionNotice: (instanceId) => void provider.notice(instanceId),
      instanceExists: (instanceId) => provider.instance(instanceId)?.state === 'running',
    };
  },
});

describe('FakeProvider', () => {
  it('constructs', () => {
    expect(new FakeProvider().locations()).toHaveLength(3);
  });
});
