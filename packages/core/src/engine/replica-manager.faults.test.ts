/**
 * Fault injection: 20% of provider calls fail — throttled, 5xx before or after the call
 * took effect, or hanging until the call timeout — and the engine still meets the target
 * without leaking an instance or launching a twin.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { ProviderError, ThrottledError } from '../errors.js';
import { SpotHedgePolicy } from '../policy/spot-hedge-policy.js';
import type { CallContext, ProviderV1 } from '../provider.js';
import { SeededRandom } from '../random.js';
import { FakeProvider } from '../testing/fake-provider.js';
import { ReplicaManager } from './replica-manager.js';

type Fault = 'throttle' | '5xx' | '5xx-after-effect' | 'hang';

/** Wraps a provider so a share of its calls fail in the ways real clouds fail. */
function flaky(
  inner: FakeProvider,
  random: SeededRandom,
  rate: number,
  tally: Record<Fault, number>,
) {
  let enabled = true;
  const faults: Fault[] = ['throttle', '5xx', '5xx-after-effect', 'hang'];
  async function call<T>(run: () => Promise<T>, context: CallContext | undefined): Promise<T> {
    if (!enabled || random.next() >= rate) return run();
    const fault = random.pick(faults);
    tally[fault]++;
    switch (fault) {
      case 'throttle':
        throw new ThrottledError('Rate exceeded', { retryAfterMs: 200 });
      case '5xx':
        throw new ProviderError('InternalError (500)', { providerCode: '500', retryable: true });
      case '5xx-after-effect':
        await run();
        throw new ProviderError('Service Unavailable (503)', {
          providerCode: '503',
          retryable: true,
        });
      case 'hang':
        await run().catch(() => undefined);
        return new Promise<T>((_, reject) => {
          context?.abortSignal?.addEventListener('abort', () =>
            reject(context.abortSignal?.reason),
          );
        });
    }
  }
  const provider: ProviderV1 = {
    specificationVersion: 'v1',
    name: inner.name,
    locations: () => inner.locations(),
    offerings: (context) => call(() => inner.offerings(context), context),
    launch: (request, context) => call(() => inner.launch(request, context), context),
    list: (request, context) => call(() => inner.list(request, context), context),
    terminate: (request, context) => call(() => inner.terminate(request, context), context),
    interruptions: (request, context) =>
      call(() => inner.interruptions!(request, context), context),
  };
  return {
    provider,
    disable: () => {
      enabled = false;
    },
  };
}

describe('fault injection', () => {
  it('meets the target and leaks nothing while 20% of provider calls fail', async () => {
    const clock = new ManualClock({ now: 0 });
    const inner = new FakeProvider({ clock, locations: 4, bootMs: 20_000 });
    const tally: Record<Fault, number> = { throttle: 0, '5xx': 0, '5xx-after-effect': 0, hang: 0 };
    const { provider } = flaky(inner, new SeededRandom(99), 0.2, tally);
    const manager = new ReplicaManager({
      service: 'faults',
      providers: [provider],
      policy: new SpotHedgePolicy({ seed: 3 }),
      clock,
      target: 3,
      prober: { probe: (replica) => inner.instance(replica.instanceId)?.state === 'running' },
      readinessProbe: { periodMs: 0 },
      tickIntervalMs: 10_000,
      drainMs: 5_000,
      callTimeoutMs: 3_000,
      retry: { retries: 3, minDelayMs: 100, maxDelayMs: 1_000 },
      seed: 7,
    });
    await manager.start();
    const readyCounts: number[] = [];
    for (let tick = 0; tick < 40; tick++) {
      await clock.advance(10_000);
      readyCounts.push(manager.status().countsByStatus.ready ?? 0);
      // Some preemptions on the way.
      if (tick === 15 || tick === 25) {
        const spot = inner
          .instances()
          .find((item) => item.capacityType === 'spot' && item.state === 'running');
        if (spot !== undefined) inner.preempt(spot.id);
      }
    }
    expect(Object.values(tally).every((count) => count > 0)).toBe(true);
    // The target is met at the end, and was met most of the run.
    expect(readyCounts.at(-1)).toBeGreaterThanOrEqual(3);
    expect(readyCounts.slice(10).filter((count) => count >= 3).length).toBeGreaterThanOrEqual(25);

    // No leak: every alive instance belongs to a tracked replica; no twin ever.
    await manager.idle();
    const tracked = new Set(manager.status().replicas.map((replica) => replica.instanceId));
    const alive = inner
      .instances()
      .filter((item) => item.state === 'pending' || item.state === 'running');
    expect(alive.filter((item) => !tracked.has(item.id))).toEqual([]);
    const perReplica = new Map<string, number>();
    for (const instance of inner.instances()) {
      const replica = instance.tags['spothedge-replica']!;
      perReplica.set(replica, (perReplica.get(replica) ?? 0) + 1);
    }
    expect([...perReplica.values()].filter((count) => count > 1)).toEqual([]);

    // Graceful stop with terminate, faults still on: nothing is left running.
    const stopping = manager.stop({ terminate: true });
    for (let step = 0; step < 20; step++) await clock.advance(2_000);
    await stopping;
    expect(
      inner.instances().filter((item) => item.state === 'pending' || item.state === 'running'),
    ).toEqual([]);
  });
});
