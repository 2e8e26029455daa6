import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { CapacityUnavailableError, InvalidArgumentError, ThrottledError } from '../errors.js';
import { OnDemandOnlyPolicy } from '../policy/on-demand-only-policy.js';
import { SpotHedgePolicy } from '../policy/spot-hedge-policy.js';
import type { FleetView, JsonValue, Plan, Policy, PolicyEvent } from '../policy/types.js';
import { ReplicaTag, replicaOwnershipTags } from '../provider.js';
import { SeededRandom } from '../random.js';
import type { CapacityType } from '../provider.js';
import { FakeProvider } from '../testing/fake-provider.js';
import type { EngineEvent, EngineEventName } from './engine-events.js';
import { MemoryStateStore } from './memory-state-store.js';
import { ReplicaManager } from './replica-manager.js';
import type { ReplicaManagerOptions } from './replica-manager.js';
import type { StateStore, StateWrite } from './state-store.js';

const alive = (provider: FakeProvider) =>
  provider.instances().filter((item) => item.state === 'pending' || item.state === 'running');

/** A policy that keeps `count` replicas of one kind in the first location, and records events. */
class FixedPolicy implements Policy {
  readonly name = 'fixed';
  readonly events: PolicyEvent[] = [];
  constructor(
    public count: number,
    readonly capacityType: CapacityType = 'spot',
  ) {}
  plan(view: FleetView): Plan {
    const live = view.replicas.filter((replica) =>
      ['pending', 'provisioning', 'starting', 'ready', 'not-ready'].includes(replica.status),
    );
    const actions: Plan['actions'][number][] = [];
    for (let index = live.length; index < this.count; index++) {
      actions.push({
        type: 'launch',
        location: view.locations[0]!.id,
        capacityType: this.capacityType,
        reason: 'fixed',
      });
    }
    for (const replica of live.slice(this.count).reverse()) {
      actions.push({ type: 'terminate', replicaId: replica.id, reason: 'fixed: too many' });
    }
    return { actions };
  }
  observe(event: PolicyEvent): void {
    this.events.push(event);
  }
  snapshot(): JsonValue {
    return { count: this.count };
  }
  restore(): void {}
}

function setup(options: Partial<ReplicaManagerOptions> & { provider?: FakeProvider } = {}) {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock({ now: 1_000 });
  const provider = options.provider ?? new FakeProvider({ clock, locations: 3 });
  const events: EngineEvent[] = [];
  const manager = new ReplicaManager({
    service: 'svc',
    providers: [provider],
    policy: new FixedPolicy(2),
    clock,
    prober: { probe: (replica) => provider.instance(replica.instanceId)?.state === 'running' },
    readinessProbe: { periodMs: 0, failureThreshold: 2 },
    drainMs: 0,
    ...options,
  });
  const names: EngineEventName[] = [
    'replica-launch',
    'replica-adopt',
    'replica-ready',
    'replica-degrade',
    'replica-drain',
    'replica-terminate',
    'replica-preempt',
    'replica-fail',
    'replica-interrupt',
    'launch-fail',
    'location-preempt',
    'instance-terminate',
    'lease-acquire',
    'lease-lose',
  ];
  for (const name of names) manager.on(name, (event) => void events.push(event));
  const tick = async () => {
    await manager.reconcile();
    await manager.idle();
  };
  return { clock, provider, manager, events, tick };
}

describe('ReplicaManager', () => {
  it('validates its options', () => {
    const provider = new FakeProvider({ locations: 1 });
    const base = { service: 'svc', providers: [provider], policy: new FixedPolicy(1) };
    expect(() => new ReplicaManager({ ...base, service: 'Not Valid' })).toThrowError(
      InvalidArgumentError,
    );
    expect(() => new ReplicaManager({ ...base, providers: [] })).toThrowError(/providers/);
    expect(() => new ReplicaManager({ ...base, providers: [provider, provider] })).toThrowError(
      /differ/,
    );
    expect(() => new ReplicaManager({ ...base, target: -1 })).toThrowError(/target/);
    expect(() => new ReplicaManager({ ...base, drainMs: -5 })).toThrowError(/drainMs/);
    expect(() => new ReplicaManager({ ...base, policy: {} as Policy })).toThrowError(/policy/);
    expect(() => new ReplicaManager({ ...base, replicaPort: 70_000 })).toThrowError(
      /`replicaPort`.*70000/,
    );
    expect(provider.calls).toHaveLength(0);
  });

  it('tags every launch with the replica port, beside the ownership tags', async () => {
    const { tick, provider } = setup({ replicaPort: 8081 });
    await tick();
    const launches = provider.calls.filter((call) => call.method === 'launch');
    expect(launches).toHaveLength(2);
    for (const call of launches) {
      expect(call.method === 'launch' && call.request.tags).toMatchObject({
        ...replicaOwnershipTags({
          service: 'svc',
          replicaId: expect.any(String),
          capacityType: 'spot',
        }),
        [ReplicaTag.Port]: '8081',
      });
    }
    // Without a port, no port tag.
    const plain = setup();
    await plain.tick();
    const launch = plain.provider.calls.find((call) => call.method === 'launch');
    expect(launch?.method === 'launch' && Object.keys(launch.request.tags)).not.toContain(
      ReplicaTag.Port,
    );
  });

  it('writes the launch intent to the store before calling provider.launch', async () => {
    const inner = new MemoryStateStore();
    const writes: StateWrite[] = [];
    const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
      write: (service: string, write: StateWrite, options?: object) => {
        writes.push(write);
        return inner.write(service, write, options);
      },
      load: (service: string) => inner.load(service),
    });
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 1 });
    const launch = provider.launch.bind(provider);
    const seenAtLaunch: number[] = [];
    provider.launch = async (request, context) => {
      const state = await inner.load('svc');
      seenAtLaunch.push(
        state.intents.filter((intent) => intent.idempotencyKey === request.idempotencyKey).length,
      );
      return launch(request, context);
    };
    const { tick } = setup({ clock, provider, store });
    await tick();
    expect(seenAtLaunch).toEqual([1, 1]);
    await tick();
    // The intents are resolved (deleted) once the instances are recorded.
    expect((await inner.load('svc')).intents).toEqual([]);
    expect(writes.length).toBeGreaterThan(0);
  });

  it('reaches the target, then writes nothing on a steady tick', async () => {
    const inner = new MemoryStateStore();
    let writes = 0;
    const store: StateStore = {
      load: (service) => inner.load(service),
      write: (service, write, options) => {
        writes++;
        return inner.write(service, write, options);
      },
      acquireLease: (request) => inner.acquireLease(request),
      renewLease: (lease, request) => inner.renewLease(lease, request),
      releaseLease: (lease) => inner.releaseLease(lease),
      close: () => inner.close(),
    };
    const { tick, manager, provider } = setup({ store });
    await tick();
    await tick();
    expect(manager.readyReplicas()).toHaveLength(2);
    const before = writes;
    const calls = provider.calls.length;
    await tick();
    await tick();
    expect(writes).toBe(before);
    // A steady tick lists and polls notices; it launches and terminates nothing.
    expect(
      provider.calls
        .slice(calls)
        .filter((call) => call.method === 'launch' || call.method === 'terminate'),
    ).toEqual([]);
  });

  it('persists policy state each time it changes, even when the policy mutates what it returned', async () => {
    const inner = new MemoryStateStore();
    const written: JsonValue[] = [];
    const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
      write: (service: string, write: StateWrite, options?: object) => {
        if (write.policyState !== undefined) written.push(structuredClone(write.policyState));
        return inner.write(service, write, options);
      },
      load: (service: string) => inner.load(service),
    });
    // One state object, mutated in place by plan(): the engine must not keep a reference.
    const state = { kind: 'counting', plans: 0, nested: { seen: [] as number[] } };
    const policy = new FixedPolicy(1);
    const plan = policy.plan.bind(policy);
    policy.plan = (view) => {
      state.plans++;
      if (state.plans % 2 === 0) state.nested.seen.push(state.plans);
      return plan(view);
    };
    policy.snapshot = () => state;
    const { tick } = setup({ store, policy });
    for (let round = 0; round < 4; round++) await tick();
    expect(written).toEqual([
      { kind: 'counting', plans: 1, nested: { seen: [] } },
      { kind: 'counting', plans: 2, nested: { seen: [2] } },
      { kind: 'counting', plans: 3, nested: { seen: [2] } },
      { kind: 'counting', plans: 4, nested: { seen: [2, 4] } },
    ]);
  });

  it('adopts tagged instances left by a previous run instead of launching twins', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 2 });
    for (const replicaId of ['r-old-1', 'r-old-2']) {
      await provider.launch({
        location: provider.locations()[0]!.id,
        capacityType: 'spot',
        instanceType: 'fake.large',
        tags: replicaOwnershipTags({ service: 'svc', replicaId, capacityType: 'spot' }),
        idempotencyKey: replicaId,
      });
    }
    const foreign = provider.createForeignInstance(provider.locations()[1]!.id);
    const { tick, manager, events } = setup({ clock, provider, store: new MemoryStateStore() });
    await tick();
    expect(events.filter((event) => event.type === 'replica-adopt')).toHaveLength(2);
    expect(events.filter((event) => event.type === 'replica-launch')).toHaveLength(0);
    expect(
      manager
        .readyReplicas()
        .map((replica) => replica.id)
        .sort(),
    ).toEqual(['r-old-1', 'r-old-2']);
    await manager.stop({ terminate: true });
    // Ours are gone; the instance without our tags was never touched.
    expect(alive(provider).map((instance) => instance.id)).toEqual([foreign]);
    expect(
      provider.calls.filter(
        (call) => call.method === 'terminate' && call.request.instanceId === foreign,
      ),
    ).toEqual([]);
  });

  it('resolves an unresolved intent: relaunch with the same key when nothing exists', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 1 });
    const store = new MemoryStateStore();
    const location = provider.locations()[0]!.id;
    await store.write('svc', {
      replicas: [
        {
          id: 'r-intent',
          provider: 'fake',
          location,
          instanceType: 'fake.large',
          capacityType: 'on-demand',
          idempotencyKey: 'r-intent',
          launchedAt: 0,
          state: { status: 'pending' },
        },
      ],
      intents: [
        {
          idempotencyKey: 'r-intent',
          replicaId: 'r-intent',
          provider: 'fake',
          location,
          instanceType: 'fake.large',
          capacityType: 'on-demand',
          createdAt: 0,
        },
      ],
    });
    const { tick, manager } = setup({
      clock,
      provider,
      store,
      policy: new FixedPolicy(1, 'on-demand'),
    });
    await tick();
    await tick();
    const launches = provider.calls.filter((call) => call.method === 'launch');
    expect(launches.map((call) => call.method === 'launch' && call.request.idempotencyKey)).toEqual(
      ['r-intent'],
    );
    expect(manager.readyReplicas().map((replica) => replica.id)).toEqual(['r-intent']);
    expect((await store.load('svc')).intents).toEqual([]);
  });

  it('a capacity error fails fast, goes to the policy and marks the location', async () => {
    const { tick, provider, events, manager } = setup();
    const policy = manager.policy as FixedPolicy;
    provider.failNext('launch', new CapacityUnavailableError('no spot', { location: 'x' }));
    await tick();
    const launches = provider.calls.filter((call) => call.method === 'launch');
    expect(launches).toHaveLength(2); // one failed once, not retried in place
    expect(policy.events).toContainEqual(
      expect.objectContaining({ type: 'launch-failure', reason: 'capacity', capacityType: 'spot' }),
    );
    expect(events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['launch-fail', 'location-preempt']),
    );
    await tick();
    expect(alive(provider)).toHaveLength(2);
  });

  it('retries throttled calls with backoff on the injected clock', async () => {
    const { clock, provider, manager } = setup({ retry: { minDelayMs: 1_000, maxDelayMs: 1_000 } });
    provider.failNext('launch', new ThrottledError('slow down', { retryAfterMs: 5_000 }));
    await manager.reconcile();
    expect(alive(provider)).toHaveLength(1); // the throttled one waits on the clock
    await clock.advance(5_000);
    await manager.idle();
    expect(alive(provider)).toHaveLength(2);
    expect(provider.calls.filter((call) => call.method === 'launch')).toHaveLength(3);
  });

  it('a hanging call times out (retryable) and is retried; a call started with it is unaffected', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 1 });
    const launch = provider.launch.bind(provider);
    const reasons: unknown[] = [];
    let launches = 0;
    provider.launch = (request, context) => {
      if (launches++ > 0) return launch(request, context);
      // The first launch is accepted by nobody: it hangs until its signal aborts.
      return new Promise((_, reject) => {
        context?.abortSignal?.addEventListener('abort', () => {
          reasons.push(context.abortSignal?.reason);
          reject(context.abortSignal?.reason);
        });
      });
    };
    const { manager } = setup({
      clock,
      provider,
      callTimeoutMs: 5_000,
      retry: { retries: 2, minDelayMs: 100, maxDelayMs: 100 },
    });
    await manager.reconcile(); // both launches start at the same instant
    await clock.advance(1_000);
    expect(alive(provider)).toHaveLength(1); // the second answered; the first still hangs
    await clock.advance(5_000); // the first times out, backs off and launches again
    await manager.idle();
    expect(launches).toBe(3);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({
      code: 'PROVIDER_FAILURE',
      providerCode: 'timeout',
      retryable: true,
    });
    expect(alive(provider)).toHaveLength(2);
    await manager.destroy();
    expect(clock.pendingTimers).toBe(0);
  });

  it('matches every instance to its own replica however the listing order changes', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 3 });
    const list = provider.list.bind(provider);
    const random = new SeededRandom(5);
    // Each listing in a new order (and new objects, as decoded from an API response).
    provider.list = async (request, context) => {
      const instances = (await list(request, context)).map((instance) => ({
        ...instance,
        tags: { ...instance.tags },
      }));
      for (let index = instances.length - 1; index > 0; index--) {
        const other = random.nextInt(index + 1);
        [instances[index], instances[other]] = [instances[other]!, instances[index]!];
      }
      return instances;
    };
    const policy = new FixedPolicy(6);
    const { manager, events, tick } = setup({ clock, provider, policy, maxReplicas: 10 });
    for (let round = 0; round < 4; round++) {
      await tick();
      await clock.advance(10_000);
    }
    const matched = () =>
      manager
        .status()
        .replicas.filter((replica) => replica.status === 'ready')
        .map(
          (replica) =>
            `${replica.id}=${provider.instance(replica.instanceId!)?.tags['spothedge-replica']}`,
        );
    expect(manager.status().countsByStatus.ready).toBe(6);
    for (const pair of matched()) expect(pair.split('=')[0]).toBe(pair.split('=')[1]);
    // Replace two replicas (preempted), shuffle on: still one instance per replica.
    for (const instance of alive(provider).slice(0, 2)) provider.preempt(instance.id);
    for (let round = 0; round < 4; round++) {
      await tick();
      await clock.advance(10_000);
    }
    expect(manager.status().countsByStatus.ready).toBe(6);
    for (const pair of matched()) expect(pair.split('=')[0]).toBe(pair.split('=')[1]);
    expect(events.filter((event) => event.type === 'replica-adopt')).toEqual([]);
    expect(alive(provider)).toHaveLength(6);
  });

  it('probe failures confirmed against the provider: still running → failed and replaced', async () => {
    const unhealthy = new Set<string>();
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 1 });
    const { tick, manager, events } = setup({
      clock,
      provider,
      prober: { probe: (replica) => !unhealthy.has(replica.instanceId) },
    });
    await tick();
    await tick();
    const victim = manager.readyReplicas()[0]!;
    unhealthy.add(victim.instanceId);
    await tick(); // failure 1 → not-ready, out of routing
    expect(manager.readyReplicas().map((replica) => replica.id)).not.toContain(victim.id);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'replica-degrade', replicaId: victim.id }),
    );
    await tick(); // failure 2 = threshold
    await tick(); // confirmed against the provider: still running → failed, terminated, replaced
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'replica-fail', replicaId: victim.id }),
    );
    expect(provider.instance(victim.instanceId)?.state).toBe('terminated');
    await tick();
    expect(manager.readyReplicas()).toHaveLength(2);
  });

  it('asynchronous probes run at most probeConcurrency at a time; each replica once', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 1 });
    let inFlight = 0;
    let peak = 0;
    const probed: string[] = [];
    const { manager, tick } = setup({
      clock,
      provider,
      policy: new FixedPolicy(7),
      maxReplicas: 10,
      probeConcurrency: 3,
      prober: {
        // Replica ids decide: some answer synchronously, the others after a macrotask.
        probe: (target) => {
          probed.push(target.replicaId);
          if (target.replicaId.endsWith('0')) return true;
          inFlight++;
          peak = Math.max(peak, inFlight);
          return new Promise<boolean>((resolve) =>
            setImmediate(() => {
              inFlight--;
              resolve(provider.instance(target.instanceId)?.state === 'running');
            }),
          );
        },
      },
      idGenerator: (() => {
        let next = 0;
        return () => `r-${next++}`;
      })(),
    });
    for (let round = 0; round < 5 && manager.status().countsByStatus.ready !== 7; round++) {
      await tick();
      await clock.advance(10_000);
    }
    expect(manager.status().countsByStatus.ready).toBe(7);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    // On a steady tick every replica is probed exactly once.
    probed.length = 0;
    await tick();
    expect([...probed].sort()).toEqual(['r-0', 'r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6']);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it('a preempted spot replica is replaced at once and the policy is told', async () => {
    const { tick, manager, provider, events } = setup();
    await tick();
    await tick();
    const victim = manager.readyReplicas()[0]!;
    provider.preempt(victim.instanceId);
    const launchesBefore = provider.calls.filter((call) => call.method === 'launch').length;
    await tick();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'replica-preempt', replicaId: victim.id }),
    );
    expect((manager.policy as FixedPolicy).events).toContainEqual(
      expect.objectContaining({ type: 'preemption', replicaId: victim.id }),
    );
    expect(provider.calls.filter((call) => call.method === 'launch').length).toBe(
      launchesBefore + 1,
    );
  });

  it('a vanished spot instance we did not terminate counts as preempted', async () => {
    const { tick, manager, provider, events } = setup({ listGraceMs: 0 });
    await tick();
    await tick();
    const victim = manager.readyReplicas()[0]!;
    const list = provider.list.bind(provider);
    provider.list = async (request, context) =>
      (await list(request, context)).filter((instance) => instance.id !== victim.instanceId);
    await tick();
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'replica-preempt',
        replicaId: victim.id,
        reason: 'vanished',
      }),
    );
  });

  it('interruption notices reach the policy and the host', async () => {
    const { tick, manager, provider, events } = setup();
    await tick();
    await tick();
    const replica = manager.readyReplicas()[0]!;
    provider.notice(replica.instanceId);
    await tick();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'replica-interrupt', replicaId: replica.id }),
    );
    expect((manager.policy as FixedPolicy).events).toContainEqual(
      expect.objectContaining({ type: 'interruption-notice', replicaId: replica.id }),
    );
  });

  it('graceful scale-down: out of routing at once, terminated after the drain period', async () => {
    const { tick, manager, provider, clock, events } = setup({ drainMs: 30_000 });
    await tick();
    await tick();
    (manager.policy as FixedPolicy).count = 1;
    await tick();
    const drained = events.find((event) => event.type === 'replica-drain')!;
    expect(drained).toBeDefined();
    expect(manager.readyReplicas()).toHaveLength(1);
    expect(alive(provider)).toHaveLength(2); // still finishing in-flight requests
    await clock.advance(29_000);
    await tick();
    expect(alive(provider)).toHaveLength(2);
    await clock.advance(1_000);
    await tick();
    expect(alive(provider)).toHaveLength(1);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'replica-terminate',
        replicaId: (drained as { replicaId: string }).replicaId,
      }),
    );
  });

  it('leader lease: only the leader acts; a follower takes over after the lease expires', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 2 });
    const store = new MemoryStateStore();
    const a = setup({ clock, provider, store, lease: { holder: 'a', ttlMs: 30_000 } });
    const b = setup({ clock, provider, store, lease: { holder: 'b', ttlMs: 30_000 } });
    await a.tick();
    await b.tick();
    await a.tick();
    await b.tick();
    expect(a.manager.status().leader).toBe(true);
    expect(b.manager.status().leader).toBe(false);
    expect(alive(provider)).toHaveLength(2);
    // The follower mirrors the leader's ready set (for routing) without acting.
    expect(
      b.manager
        .readyReplicas()
        .map((replica) => replica.id)
        .sort(),
    ).toEqual(
      a.manager
        .readyReplicas()
        .map((replica) => replica.id)
        .sort(),
    );
    await a.manager.destroy(); // crashes without releasing
    await clock.advance(31_000);
    await b.tick();
    await b.tick();
    expect(b.manager.status().leader).toBe(true);
    expect(b.events.map((event) => event.type)).toContain('lease-acquire');
    expect(alive(provider)).toHaveLength(2); // adopted, no twins
    expect(b.manager.readyReplicas()).toHaveLength(2);
  });

  it('destroy() stops at once, terminates nothing and leaves no timer', async () => {
    const { manager, provider, clock } = setup({ tickIntervalMs: 1_000 });
    await manager.start();
    await manager.idle();
    await manager.destroy();
    expect(clock.pendingTimers).toBe(0);
    expect(alive(provider)).toHaveLength(2);
    await expect(manager.reconcile()).rejects.toThrowError(/destroyed/);
  });

  it('works with on-demand only', async () => {
    const { tick, provider } = setup({ policy: new OnDemandOnlyPolicy(), target: 3 });
    await tick();
    await tick();
    expect(alive(provider).map((instance) => instance.capacityType)).toEqual([
      'on-demand',
      'on-demand',
      'on-demand',
    ]);
  });

  it('persists and restores policy state across restarts', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({ clock, locations: 3 });
    const store = new MemoryStateStore();
    const first = setup({ clock, provider, store, policy: new SpotHedgePolicy(), target: 2 });
    await first.tick();
    provider.setCapacity(provider.locations()[0]!.id, 0);
    await first.tick();
    await first.tick();
    await first.manager.stop();
    const saved = (await store.load('svc')).policyState;
    expect(saved).toBeDefined();
    const policy = new SpotHedgePolicy();
    const second = setup({ clock, provider, store, policy, target: 2 });
    await second.tick();
    expect(JSON.stringify(policy.snapshot())).toBe(JSON.stringify(saved));
  });
});
