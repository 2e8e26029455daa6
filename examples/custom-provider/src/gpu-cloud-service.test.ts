import { describe, expect, it } from 'vitest';
import { createService, type Prober, type ServiceSpecInput } from '@spothedge/core';
import { ManualClock } from '@spothedge/core/testing';
import { startGpuCloudSetup } from './testing/gpu-cloud-harness.js';

// The real engine (createService with the default SpotHedge policy) driving the gpu-cloud
// provider over HTTP against the local fake, across two regions with on-demand fallback.
// Ticks run by hand under a virtual clock; readiness comes from a prober that asks the fake
// cloud whether the machine runs (there are no GPUs to serve a model here).
describe('createService with the gpu-cloud provider (local fake)', () => {
  it('hedges spot across two regions, falls back to on-demand, and handles a preemption', async () => {
    const setup = await startGpuCloudSetup();
    const { cloud, provider } = setup;
    const clock = new ManualClock({ now: Date.now() });
    const prober: Prober = {
      probe: (target) => cloud.instance(target.instanceId)?.status === 'running',
    };
    // #region service-spec
    const spec: ServiceSpecInput = {
      name: 'chat',
      replicas: 2,
      locations: ['gpu-cloud/us-east', 'gpu-cloud/eu-west'],
      instanceType: 'h100-80gb',
      // SpotHedge: one spot replica more than needed; on-demand covers missing spot ones.
      spot: { overprovision: 1, baseOnDemand: 0, dynamicFallback: true },
      readinessProbe: { path: '/health' },
    };
    // #endregion
    // drainMs 0: the virtual clock only moves when the test advances it.
    const service = createService({ spec, providers: [provider], clock, prober, drainMs: 0 });
    const events: string[] = [];
    for (const name of [
      'replica-launch',
      'replica-ready',
      'replica-interrupt',
      'replica-preempt',
      'location-preempt',
      'fallback-start',
      'fallback-end',
      'location-recover',
    ] as const) {
      service.on(name, (event) => {
        events.push('location' in event ? `${name} ${event.location}` : name);
      });
    }
    const alive = (spot: boolean) =>
      cloud
        .instances()
        .filter((instance) => instance.spot === spot && instance.status === 'running');
    const settle = async (done: () => boolean): Promise<void> => {
      for (let tick = 0; tick < 40 && !done(); tick += 1) {
        await service.reconcile();
        await service.manager.idle();
        await clock.advance(30_000);
      }
    };
    try {
      // 1. Spot in both regions plus on-demand while spot is not ready yet; then spot only.
      await settle(() => alive(true).length === 3 && alive(false).length === 0);
      expect(alive(true).length).toBe(3);
      expect(new Set(alive(true).map((instance) => instance.region))).toEqual(
        new Set(['us-east', 'eu-west']),
      );
      expect(events).toContain('fallback-start');
      expect(events).toContain('fallback-end');
      expect(service.status().ready.length).toBeGreaterThanOrEqual(2);

      // 2. eu-west runs out of spot: a notice arrives by webhook, then the instance goes.
      const victim = alive(true).find((instance) => instance.region === 'eu-west')!;
      cloud.setCapacity('eu-west', { spot: true, count: 0 });
      await cloud.sendPreemptionNotice(victim.id, { reclaimInMs: 120_000 });
      await service.reconcile();
      await service.manager.idle();
      expect(events).toContain('replica-interrupt gpu-cloud/eu-west');
      cloud.reclaim(victim.id);
      events.length = 0;
      await settle(() => events.includes('fallback-start') && service.status().ready.length >= 2);
      expect(events).toContain('replica-preempt gpu-cloud/eu-west');
      expect(events).toContain('location-preempt gpu-cloud/eu-west');
      // While eu-west has no spot, on-demand covers the missing spot replica: the target holds.
      expect(events).toContain('fallback-start');
      expect(service.status().ready.length).toBeGreaterThanOrEqual(2);
      expect(alive(false).length).toBeGreaterThanOrEqual(1);

      // 3. Spot comes back in eu-west: SpotHedge returns there and releases on-demand.
      cloud.setCapacity('eu-west', { spot: true, count: 8 });
      events.length = 0;
      await settle(() => alive(true).length === 3 && alive(false).length === 0);
      expect(events).toContain('location-recover gpu-cloud/eu-west');
      expect(events).toContain('fallback-end');
      expect(alive(true).some((instance) => instance.region === 'eu-west')).toBe(true);

      // 4. Stop terminates everything through the provider.
      await service.stop({ terminate: true });
      expect(alive(true).concat(alive(false))).toEqual([]);
    } finally {
      await service.destroy().catch(() => undefined);
      await setup.close();
    }
  });
});
