/**
 * End-to-end engine scenarios on a FakeProvider and a ManualClock: SpotHedge under a zone
 * preemption, and autoscaling under a changing request rate.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { FakeProvider } from '../testing/fake-provider.js';
import { createService } from '../service/create-service.js';
import type { EngineEvent } from './engine-events.js';
import { ENGINE_EVENT_NAMES } from './engine-events.js';
import type { Prober } from './prober.js';

const TICK = 10_000;
const COLD_START = 60_000;

/** Ready once the instance has run for COLD_START (a model loading). */
function coldStartProber(provider: FakeProvider, clock: ManualClock): Prober {
  return {
    probe(target) {
      const instance = provider.instance(target.instanceId);
      return (
        instance !== undefined &&
        instance.state === 'running' &&
        clock.now() >= instance.launchedAt + COLD_START
      );
    },
  };
}

const aliveInstances = (provider: FakeProvider) =>
  provider.instances().filter((item) => item.state === 'pending' || item.state === 'running');

describe('SpotHedge on the real engine', () => {
  it('zone preempted → replacement in another active zone → on-demand fallback while cold → released once spot is ready', async () => {
    const clock = new ManualClock({ now: 0 });
    const [a, b, c, d] = [
      'fake/us-east-1/us-east-1a',
      'fake/us-east-1/us-east-1b',
      'fake/us-east-1/us-east-1c',
      'fake/us-west-2/us-west-2a',
    ];
    const provider = new FakeProvider({
      clock,
      locations: [a!, b!, c!, d!],
      prices: { [a!]: 1, [b!]: 1.1, [c!]: 1.2, [d!]: 1.3 },
    });
    const service = createService({
      spec: {
        name: 'chat',
        replicas: 2,
        locations: [a!, b!, c!, d!],
        instanceType: 'fake.large',
        spot: { overprovision: 1 },
      },
      providers: [provider],
      clock,
      prober: coldStartProber(provider, clock),
      tickIntervalMs: TICK,
      drainMs: 5_000,
    });
    const events: EngineEvent[] = [];
    for (const name of ENGINE_EVENT_NAMES) service.on(name, (event) => void events.push(event));

    await service.start();
    await clock.advance(COLD_START + 3 * TICK);
    // Steady state: 3 spot replicas (target 2 + 1 extra) in three zones, no on-demand.
    let status = service.status();
    const spot = status.replicas.filter((replica) => replica.capacityType === 'spot');
    expect(spot.map((replica) => replica.status)).toEqual(['ready', 'ready', 'ready']);
    expect(new Set(spot.map((replica) => replica.location))).toEqual(new Set([a, b, c]));
    expect(status.replicas.filter((replica) => replica.capacityType === 'on-demand')).toEqual([]);
    expect(aliveInstances(provider)).toHaveLength(3);

    // Zone a loses its spot capacity: its replica is preempted.
    events.length = 0;
    provider.setCapacity(a!, 0);
    await clock.advance(TICK);
    const preempt = events.find((event) => event.type === 'replica-preempt');
    expect(preempt).toMatchObject({ location: a, capacityType: 'spot' });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'location-preempt', location: a }),
    );
    // Replaced at once, in the active zone that holds no spot replica yet (d)...
    const launches = events.filter((event) => event.type === 'replica-launch');
    expect(launches).toContainEqual(expect.objectContaining({ capacityType: 'spot', location: d }));
    // ...and an on-demand replica covers while the new spot replica is cold.
    expect(launches).toContainEqual(expect.objectContaining({ capacityType: 'on-demand' }));
    expect(events.map((event) => event.type)).toContain('fallback-start');

    // While the spot replica in d is still cold, the on-demand replica stays.
    await clock.advance(COLD_START - 2 * TICK);
    status = service.status();
    const onDemand = status.replicas.filter((replica) => replica.capacityType === 'on-demand');
    expect(onDemand).toHaveLength(1);
    expect(onDemand[0]!.status).not.toMatch(/draining|terminat/);
    expect(status.replicas.find((replica) => replica.location === d)?.status).toBe('starting');

    // Spot in d becomes ready → on-demand drains and is terminated.
    await clock.advance(3 * TICK);
    const readyAt = events.findIndex(
      (event) => event.type === 'replica-ready' && event.location === d,
    );
    const drainAt = events.findIndex(
      (event) => event.type === 'replica-drain' && event.capacityType === 'on-demand',
    );
    expect(readyAt).toBeGreaterThanOrEqual(0);
    expect(drainAt).toBeGreaterThan(readyAt);
    await clock.advance(2 * TICK);
    expect(events.map((event) => event.type)).toContain('fallback-end');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'replica-terminate', capacityType: 'on-demand' }),
    );
    const alive = aliveInstances(provider);
    expect(alive.every((instance) => instance.capacityType === 'spot')).toBe(true);
    expect(new Set(alive.map((instance) => instance.location))).toEqual(new Set([b, c, d]));
    expect(service.status().ready).toHaveLength(3);

    const stopping = service.stop({ terminate: true });
    await clock.advance(10_000); // the drain runs on the clock
    await stopping;
    expect(aliveInstances(provider)).toHaveLength(0);
  });

  it('scales up and down with the request rate, respecting the delays', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 3 });
    const service = createService({
      spec: {
        name: 'scale',
        replicas: { min: 1, max: 4 },
        targetQpsPerReplica: 1,
        upscaleDelaySeconds: 60,
        downscaleDelaySeconds: 120,
        locations: provider.locations().map((location) => location.id),
        instanceType: 'fake.large',
        spot: { enabled: false },
      },
      providers: [provider],
      clock,
      prober: { probe: () => true },
      tickIntervalMs: TICK,
      drainMs: 0,
    });
    const targets: { at: number; to: number }[] = [];
    service.on('target-change', (event) => void targets.push({ at: event.at, to: event.to }));
    await service.start();
    await clock.advance(2 * TICK);
    expect(service.status().target).toBe(1);
    expect(aliveInstances(provider)).toHaveLength(1);

    // 3 requests/s from t=20s on: the target must not move before 60 s of sustained demand.
    const load = async (qps: number, durationMs: number) => {
      for (let elapsed = 0; elapsed < durationMs; elapsed += 1_000) {
        for (let index = 0; index < qps; index++) service.autoscaler.record(clock.now());
        await clock.advance(1_000);
      }
    };
    const loadStart = clock.now();
    await load(3, 50_000);
    expect(service.status().target).toBe(1);
    await load(3, 40_000);
    expect(service.status().target).toBe(3);
    const up = targets.find((target) => target.to === 3)!;
    expect(up.at - loadStart).toBeGreaterThanOrEqual(60_000);
    await clock.advance(TICK);
    expect(aliveInstances(provider)).toHaveLength(3);

    // Demand falls to 1 request/s: nothing happens before the 120 s downscale delay.
    const quietStart = clock.now();
    await load(1, 100_000);
    expect(service.status().target).toBe(3);
    expect(aliveInstances(provider)).toHaveLength(3);
    await load(1, 60_000);
    const down = targets.findLast((target) => target.to === 1)!;
    expect(down).toBeDefined();
    expect(down.at - quietStart).toBeGreaterThanOrEqual(120_000);
    await clock.advance(2 * TICK);
    expect(aliveInstances(provider)).toHaveLength(1);
    await service.stop({ terminate: true });
    expect(aliveInstances(provider)).toHaveLength(0);
  });
});
