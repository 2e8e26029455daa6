import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  CapacityUnavailableError,
  InstanceNotFoundError,
  InvalidArgumentError,
  InvalidConfigError,
  NotOwnedError,
  ProviderError,
  ThrottledError,
} from '../errors.js';
import {
  replicaOwnershipTags,
  serviceOwnershipTags,
  type CapacityType,
  type LaunchRequest,
} from '../provider.js';
import { SeededRandom } from '../random.js';
import {
  FakeProvider,
  ManualClock,
  providerConformanceChecks,
  runProviderConformanceCheck,
  runProviderConformanceSuite,
  type FakeProviderOptions,
  type ProviderConformanceOptions,
} from './index.js';

function fakeHarnessOptions(
  create: () => FakeProvider,
  overrides: Partial<ProviderConformanceOptions> = {},
): ProviderConformanceOptions {
  return {
    name: 'FakeProvider',
    capabilities: { interruptions: true },
    createHarness() {
      const provider = create();
      return {
        provider,
        location: provider.locations()[0]!.id,
        instanceType: 'fake.large',
        exhaustSpotCapacity: (location) => provider.setCapacity(location, 0),
        preempt: (instanceId) => provider.preempt(instanceId),
        createForeignInstance: (location) => provider.createForeignInstance(location),
        sendInterruptionNotice: (instanceId) => void provider.notice(instanceId),
        instanceExists: (instanceId) => provider.instance(instanceId)?.endedAt === undefined,
      };
    },
    ...overrides,
  };
}

runProviderConformanceSuite(fakeHarnessOptions(() => new FakeProvider()));
runProviderConformanceSuite({
  ...fakeHarnessOptions(() => new FakeProvider({ bootMs: 50 })),
  name: 'FakeProvider (pending at first, on the wall clock)',
});

const service = 'chat';
const tags = serviceOwnershipTags(service);
const zoneA = 'fake/us-east-1/us-east-1a';
const zoneB = 'fake/us-east-1/us-east-1b';
let keyCounter = 0;

function request(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  const capacityType: CapacityType = overrides.capacityType ?? 'spot';
  keyCounter += 1;
  return {
    location: zoneA,
    capacityType,
    instanceType: 'fake.large',
    tags: replicaOwnershipTags({ service, replicaId: `r-${keyCounter}`, capacityType }),
    idempotencyKey: `key-${keyCounter}`,
    ...overrides,
  };
}

function setup(options: FakeProviderOptions = {}): { clock: ManualClock; provider: FakeProvider } {
  const clock = new ManualClock({ now: 0 });
  return { clock, provider: new FakeProvider({ clock, ...options }) };
}

describe('FakeProvider: locations, offerings and prices', () => {
  it('generates location ids from a count and accepts explicit ids', () => {
    const generated = new FakeProvider({ locations: 4 }).locations().map((item) => item.id);
    expect(generated).toEqual([
      'fake/us-east-1/us-east-1a',
      'fake/us-east-1/us-east-1b',
      'fake/us-east-1/us-east-1c',
      'fake/us-west-2/us-west-2a',
    ]);
    const explicit = new FakeProvider({ name: 'acme', locations: ['acme/eu/eu-1', 'acme/us'] });
    expect(explicit.locations()).toEqual([
      { id: 'acme/eu/eu-1', cloud: 'acme', region: 'eu', zone: 'eu-1' },
      { id: 'acme/us', cloud: 'acme', region: 'us' },
    ]);
  });

  it('prices on-demand at 3x spot unless set, per location and at runtime', async () => {
    const { provider } = setup({
      instanceTypes: ['small', 'large'],
      spotPrice: 2,
      prices: { [zoneB]: { spot: 1, onDemand: 10 } },
    });
    const offerings = await provider.offerings();
    expect(offerings).toHaveLength(3 * 2 * 2);
    const price = (location: string, capacityType: CapacityType) =>
      offerings.find(
        (item) =>
          item.location === location &&
          item.capacityType === capacityType &&
          item.instanceType === 'large',
      )?.hourlyPrice;
    expect(price(zoneA, 'spot')).toBe(2);
    expect(price(zoneA, 'on-demand')).toBe(6);
    expect(price(zoneB, 'spot')).toBe(1);
    expect(price(zoneB, 'on-demand')).toBe(10);
    provider.setPrice(zoneA, 0.5);
    expect(provider.price(zoneA, 'on-demand')).toBe(1.5);
  });

  it('rejects bad options with errors that name the setting and the value', () => {
    const attempts: [FakeProviderOptions, string][] = [
      [{ locations: 0 }, 'locations'],
      [{ locations: ['no-slashes'] }, 'locations'],
      [{ bootMs: -1 }, 'bootMs'],
      [{ spotPrice: 0 }, 'spotPrice'],
      [{ prices: { 'fake/nowhere/x': 1 } }, 'prices'],
      [{ spotCapacity: -1 }, 'spotCapacity'],
      [{ spotCapacity: [{ at: 0, capacity: Number.NaN }] }, 'spotCapacity'],
      [{ spotCapacity: { [zoneA]: 'many' as unknown as number } }, `spotCapacity["${zoneA}"]`],
      [{ instanceType: 'a', instanceTypes: ['b'] }, 'instanceTypes'],
      [{ name: 'Bad Name' }, 'name'],
    ];
    for (const [options, setting] of attempts) {
      let caught: unknown;
      try {
        new FakeProvider(options);
      } catch (error) {
        caught = error;
      }
      expect(InvalidConfigError.isInstance(caught), setting).toBe(true);
      expect((caught as InvalidConfigError).setting).toBe(setting);
      expect((caught as InvalidConfigError).message).toContain(setting.split('[')[0]);
    }
  });
});

describe('FakeProvider: launch, boot and idempotency', () => {
  it('keeps an instance pending for bootMs of clock time, then running with an endpoint', async () => {
    const { clock, provider } = setup({
      bootMs: 30_000,
      endpointFor: (instance) => `http://127.0.0.1:9/${instance.id}`,
    });
    const launched = await provider.launch(request());
    expect(launched).toMatchObject({ state: 'pending', launchedAt: 0, location: zoneA });
    expect(launched.endpoint).toBeUndefined();
    await clock.advance(29_999);
    expect((await provider.list({ tags }))[0]!.state).toBe('pending');
    await clock.advance(1);
    const [running] = await provider.list({ tags });
    expect(running).toMatchObject({
      state: 'running',
      endpoint: `http://127.0.0.1:9/${launched.id}`,
    });
  });

  it('defaults endpoints to http://fake.invalid/<id>', async () => {
    const { provider } = setup();
    const instance = await provider.launch(request());
    expect(instance.endpoint).toBe(`http://fake.invalid/${instance.id}`);
  });

  it('returns the same instance for the same key, even after it ended or capacity went away', async () => {
    const { provider } = setup();
    const first = request({ idempotencyKey: 'same' });
    const instance = await provider.launch(first);
    provider.setCapacity(zoneA, 0);
    const again = await provider.launch(first);
    expect(again.id).toBe(instance.id);
    expect(again.state).toBe('preempted');
    expect(provider.instances()).toHaveLength(1);
  });

  it('rejects a reused key with other parameters, bad keys and unknown locations or types', async () => {
    const { provider } = setup();
    await provider.launch(request({ idempotencyKey: 'k' }));
    await expect(
      provider.launch(request({ idempotencyKey: 'k', location: zoneB })),
    ).rejects.toSatisfy((error: unknown) => InvalidArgumentError.isInstance(error));
    await expect(provider.launch(request({ idempotencyKey: 'Has Spaces' }))).rejects.toSatisfy(
      (error: unknown) => InvalidArgumentError.isInstance(error),
    );
    await expect(provider.launch(request({ location: 'fake/mars/x' }))).rejects.toSatisfy(
      (error: unknown) => InvalidArgumentError.isInstance(error),
    );
    await expect(provider.launch(request({ instanceType: 'huge' }))).rejects.toSatisfy(
      (error: unknown) => InvalidConfigError.isInstance(error),
    );
    expect(provider.instances()).toHaveLength(1);
  });

  it('accepts the launch at once but answers after launchLatencyMs; abort leaves the instance', async () => {
    const { clock, provider } = setup({ launchLatencyMs: 5_000 });
    let answered = false;
    const launching = provider.launch(request()).then((instance) => {
      answered = true;
      return instance;
    });
    await clock.advance(4_999);
    expect(answered).toBe(false);
    expect(provider.instances()).toHaveLength(1);
    expect(provider.calls[0]!.outcome).toEqual({ status: 'pending' });
    await clock.advance(1);
    expect((await launching).id).toBe(provider.instances()[0]!.id);

    const controller = new AbortController();
    const aborted = provider.launch(request(), { abortSignal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    expect(provider.instances()).toHaveLength(2);
  });

  it('rejects an already-aborted call without doing anything', async () => {
    const { provider } = setup();
    const signal = AbortSignal.abort();
    await expect(provider.launch(request(), { abortSignal: signal })).rejects.toSatisfy(
      (error: unknown) => AbortedError.isInstance(error),
    );
    await expect(provider.list({ tags }, { abortSignal: signal })).rejects.toSatisfy(
      (error: unknown) => AbortedError.isInstance(error),
    );
    expect(provider.instances()).toEqual([]);
  });
});

describe('FakeProvider: capacity', () => {
  it('throws CapacityUnavailableError beyond spot capacity, with location and capacity type', async () => {
    const { provider } = setup({ spotCapacity: { [zoneA]: 1 } });
    await provider.launch(request());
    const error: unknown = await provider.launch(request()).catch((caught: unknown) => caught);
    expect(CapacityUnavailableError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ location: zoneA, capacityType: 'spot', retryable: false });
    await provider.launch(request({ location: zoneB }));
    await provider.launch(request({ capacityType: 'on-demand' }));
    expect(provider.instances()).toHaveLength(3);
  });

  it('limits on-demand only when asked, and never preempts it', async () => {
    const { provider } = setup({ onDemandCapacity: 1 });
    const onDemand = await provider.launch(request({ capacityType: 'on-demand' }));
    await expect(provider.launch(request({ capacityType: 'on-demand' }))).rejects.toMatchObject({
      code: 'CAPACITY_UNAVAILABLE',
      capacityType: 'on-demand',
    });
    provider.setCapacity(zoneA, 0, { capacityType: 'on-demand' });
    expect(provider.instance(onDemand.id)!.state).toBe('running');
  });

  it('preempts the newest excess spot instances when capacity drops (setCapacity)', async () => {
    const { clock, provider } = setup();
    const ids: string[] = [];
    for (let index = 0; index < 4; index++) {
      ids.push((await provider.launch(request())).id);
      await clock.advance(1_000);
    }
    const other = await provider.launch(request({ location: zoneB }));
    const onDemand = await provider.launch(request({ capacityType: 'on-demand' }));
    provider.setCapacity(zoneA, 2);
    const states = Object.fromEntries(
      provider.instances().map((instance) => [instance.id, [instance.state, instance.stateReason]]),
    );
    expect(states[ids[0]!]).toEqual(['running', undefined]);
    expect(states[ids[1]!]).toEqual(['running', undefined]);
    expect(states[ids[2]!]).toEqual(['preempted', 'capacity-drop']);
    expect(states[ids[3]!]).toEqual(['preempted', 'capacity-drop']);
    expect(states[other.id]![0]).toBe('running');
    expect(states[onDemand.id]![0]).toBe('running');
    expect(provider.capacity(zoneA)).toBe(2);

    provider.clearCapacity(zoneA);
    expect(provider.capacity(zoneA)).toBe(Number.POSITIVE_INFINITY);
    await provider.launch(request());
  });

  it('follows a capacity schedule over time and applies every step passed, even a short dip', async () => {
    const { clock, provider } = setup({
      spotCapacity: {
        [zoneA]: [
          { at: 0, capacity: 3 },
          { at: 60_000, capacity: 1 },
          { at: 120_000, capacity: 0 },
          { at: 121_000, capacity: 3 },
        ],
      },
    });
    const first = await provider.launch(request());
    await clock.advance(10);
    const second = await provider.launch(request());
    await clock.advance(10);
    const third = await provider.launch(request());
    await expect(provider.launch(request())).rejects.toSatisfy((error: unknown) =>
      CapacityUnavailableError.isInstance(error),
    );

    await clock.advance(60_000);
    const afterDrop = await provider.list({ tags });
    expect(afterDrop.map((instance) => instance.state)).toEqual([
      'running',
      'preempted',
      'preempted',
    ]);
    expect(afterDrop[1]!.stateReason).toBe('capacity-drop');
    expect(afterDrop[0]!.id).toBe(first.id);
    expect([second.id, third.id]).toEqual([afterDrop[1]!.id, afterDrop[2]!.id]);

    // Nobody looks during the dip to 0 at 120 s; it still preempts the survivor.
    await clock.advanceTo(200_000);
    const afterDip = await provider.list({ tags });
    expect(afterDip.find((instance) => instance.id === first.id)!.state).toBe('preempted');
    // Preempted at the step times, though observed later.
    expect(provider.instance(second.id)!.endedAt).toBe(60_000);
    expect(provider.instance(first.id)!.endedAt).toBe(120_000);
    expect(provider.capacity(zoneA)).toBe(3);
    await provider.launch(request());
  });

  it('samples a capacity function with the location and the clock time, where it matters', async () => {
    const seen: [string, number][] = [];
    const { clock, provider } = setup({
      spotCapacity: (location, now) => {
        seen.push([location, now]);
        return location === zoneA && now >= 1_000 ? 0 : 5;
      },
    });
    const instance = await provider.launch(request());
    await clock.advance(1_000);
    expect((await provider.list({ tags }))[0]).toMatchObject({
      id: instance.id,
      state: 'preempted',
    });
    expect(seen).toContainEqual([zoneA, 1_000]);
  });
});

describe('FakeProvider: terminate, preempt, notices and foreign instances', () => {
  it('terminates idempotently, ignores unknown ids and refuses what it does not own', async () => {
    const { provider } = setup();
    const instance = await provider.launch(request());
    await expect(
      provider.terminate({ instanceId: instance.id, tags: serviceOwnershipTags('other') }),
    ).rejects.toSatisfy((error: unknown) => NotOwnedError.isInstance(error));
    expect(provider.instance(instance.id)!.state).toBe('running');
    await provider.terminate({ instanceId: instance.id, tags });
    await provider.terminate({ instanceId: instance.id, tags });
    await provider.terminate({ instanceId: 'fake-999999', tags });
    expect(provider.instance(instance.id)).toMatchObject({
      state: 'terminated',
      stateReason: 'user-terminate',
    });

    const foreign = provider.createForeignInstance(zoneB);
    const refusal: unknown = await provider
      .terminate({ instanceId: foreign, tags })
      .catch((error: unknown) => error);
    expect(NotOwnedError.isInstance(refusal)).toBe(true);
    expect((refusal as NotOwnedError).instanceId).toBe(foreign);
    expect(provider.instance(foreign)).toMatchObject({ state: 'running', foreign: true });
    expect(await provider.list({ tags })).toHaveLength(1);
  });

  it('preempts on demand and rejects unknown ids', async () => {
    const { provider } = setup();
    const instance = await provider.launch(request());
    provider.preempt(instance.id, { reason: 'Server.SpotInstanceTermination' });
    expect((await provider.list({ tags }))[0]).toMatchObject({
      state: 'preempted',
      stateReason: 'Server.SpotInstanceTermination',
    });
    expect(() => provider.preempt('nope')).toThrow(InstanceNotFoundError);
  });

  it('keeps ended instances in list for retainEndedMs, in instances() for ever', async () => {
    const { clock, provider } = setup({ retainEndedMs: 60_000 });
    const instance = await provider.launch(request());
    provider.preempt(instance.id);
    await clock.advance(60_000);
    expect(await provider.list({ tags })).toHaveLength(1);
    await clock.advance(1);
    expect(await provider.list({ tags })).toEqual([]);
    expect(provider.instances()).toHaveLength(1);
    expect(provider.instance(instance.id)!.endedAt).toBe(0);
  });

  it('reports interruption notices and preempts at the deadline', async () => {
    const { clock, provider } = setup();
    const instance = await provider.launch(request());
    const notice = provider.notice(instance.id);
    expect(notice).toEqual({ instanceId: instance.id, noticedAt: 0, deadline: 120_000 });
    expect(await provider.interruptions!({ tags })).toEqual([notice]);
    expect(await provider.interruptions!({ tags: serviceOwnershipTags('other') })).toEqual([]);
    await clock.advance(119_999);
    expect((await provider.list({ tags }))[0]!.state).toBe('running');
    await clock.advance(1);
    expect((await provider.list({ tags }))[0]).toMatchObject({
      state: 'preempted',
      stateReason: 'interruption',
    });
    expect(await provider.interruptions!({ tags })).toEqual([]);

    const kept = await provider.launch(request());
    provider.notice(kept.id, 130_000, { preemptAtDeadline: false });
    await clock.advance(100_000);
    expect(provider.instance(kept.id)!.state).toBe('running');
  });

  it('drops the interruptions capability when asked', () => {
    expect(new FakeProvider({ interruptions: false }).interruptions).toBeUndefined();
    expect('interruptions' in new FakeProvider({ interruptions: false })).toBe(false);
  });
});

describe('FakeProvider: faults and call recording', () => {
  it('records every call with its request, time and outcome', async () => {
    const { clock, provider } = setup({ spotCapacity: 0 });
    await clock.advance(5);
    const spot = request();
    await provider.launch(spot).catch(() => undefined);
    await provider.list({ tags });
    await provider.offerings();
    expect(provider.calls.map((call) => call.method)).toEqual(['launch', 'list', 'offerings']);
    const [launch, list] = provider.calls;
    expect(launch).toMatchObject({ method: 'launch', request: spot, at: 5 });
    expect(launch!.outcome.status).toBe('rejected');
    expect(list!.outcome).toEqual({ status: 'resolved', value: [] });
    const launchCalls = provider.calls.filter((call) => call.method === 'launch');
    expect(launchCalls.map((call) => call.request.location)).toEqual([zoneA]);
    provider.clearCalls();
    expect(provider.calls).toEqual([]);
  });

  it('fails the next calls of a method with failNext, in order, before any effect', async () => {
    const { provider } = setup();
    const throttled = new ThrottledError('Rate exceeded', { retryAfterMs: 1_000 });
    provider.failNext('launch', throttled);
    provider.failNext('launch', { times: 2 });
    await expect(provider.launch(request())).rejects.toBe(throttled);
    const injected: unknown = await provider.launch(request()).catch((error: unknown) => error);
    expect(ProviderError.isInstance(injected)).toBe(true);
    expect(injected).toMatchObject({ providerCode: 'InjectedFault', retryable: true });
    await expect(provider.launch(request())).rejects.toSatisfy((error: unknown) =>
      ProviderError.isInstance(error),
    );
    expect(provider.instances()).toEqual([]);
    await provider.list({ tags }); // other methods unaffected
    await provider.launch(request());
    expect(provider.instances()).toHaveLength(1);

    provider.failNext('*', { error: (call) => new ProviderError(`boom in ${call.method}`) });
    await expect(provider.offerings()).rejects.toThrow('boom in offerings');
  });

  it('can fail after the effect: the launch happened, the answer was lost', async () => {
    const { provider } = setup();
    provider.failNext('launch', { afterEffect: true });
    const lost = request();
    await expect(provider.launch(lost)).rejects.toSatisfy((error: unknown) =>
      ProviderError.isInstance(error),
    );
    const [adopted] = await provider.list({ tags });
    expect(adopted!.tags).toEqual(lost.tags);
    expect((await provider.launch(lost)).id).toBe(adopted!.id);

    provider.failNext('terminate', { afterEffect: true });
    await expect(provider.terminate({ instanceId: adopted!.id, tags })).rejects.toSatisfy(
      (error: unknown) => ProviderError.isInstance(error),
    );
    expect(provider.instance(adopted!.id)!.state).toBe('terminated');

    provider.failNext('list', { afterEffect: true });
    await expect(provider.list({ tags })).rejects.toSatisfy((error: unknown) =>
      ProviderError.isInstance(error),
    );
    expect(await provider.list({ tags })).toHaveLength(1);
  });

  it('injects faults at a seeded rate through the faults hook', async () => {
    const random = new SeededRandom(7);
    const { provider } = setup({
      faults: ({ method }) =>
        method === 'launch' && random.next() < 0.2
          ? new ThrottledError('Rate exceeded')
          : undefined,
    });
    let failures = 0;
    for (let index = 0; index < 200; index++) {
      await provider.launch(request()).catch((error: unknown) => {
        expect(ThrottledError.isInstance(error)).toBe(true);
        failures += 1;
      });
    }
    expect(failures).toBeGreaterThan(20);
    expect(failures).toBeLessThan(60);
    expect(provider.instances()).toHaveLength(200 - failures);
  });

  it('bills instance-hours at the hourly price', async () => {
    const { clock, provider } = setup({ spotPrice: 1 });
    await provider.launch(request());
    await provider.launch(request({ capacityType: 'on-demand' }));
    await clock.advance(1_800_000);
    expect(provider.cost()).toBeCloseTo(0.5 + 1.5);
  });
});

describe('FakeProvider: storagePath', () => {
  const directory = mkdtempSync(join(tmpdir(), 'spothedge-fake-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('persists the cloud so a second provider on the same file sees it', async () => {
    const storagePath = join(directory, 'cloud.json');
    const clock = new ManualClock({ now: 1_000 });
    const first = new FakeProvider({ clock, storagePath, bootMs: 10 });
    const kept = await first.launch(request({ idempotencyKey: 'kept' }));
    const ended = await first.launch(request({ idempotencyKey: 'ended' }));
    await first.terminate({ instanceId: ended.id, tags });
    first.setCapacity(zoneB, 0);
    first.notice(kept.id, 50_000);
    const foreign = first.createForeignInstance(zoneA);
    expect(readdirSync(directory)).toEqual(['cloud.json']);

    const second = new FakeProvider({ clock, storagePath, bootMs: 10 });
    expect(second.instances()).toEqual(first.instances());
    expect((await second.launch(request({ idempotencyKey: 'kept' }))).id).toBe(kept.id);
    expect(second.capacity(zoneB)).toBe(0);
    await expect(second.launch(request({ location: zoneB }))).rejects.toSatisfy((error: unknown) =>
      CapacityUnavailableError.isInstance(error),
    );
    expect(await second.interruptions!({ tags })).toHaveLength(1);
    const fresh = await second.launch(request());
    expect([kept.id, ended.id, foreign]).not.toContain(fresh.id);

    const third = new FakeProvider({ clock, storagePath });
    expect(third.instances().map((instance) => instance.id)).toEqual([
      kept.id,
      ended.id,
      foreign,
      fresh.id,
    ]);
  });

  it('survives SIGKILL: a restarted process sees the same cloud and the same keys', async () => {
    const storagePath = join(directory, 'killed.json');
    const script = join(directory, 'child.mts');
    const source = new URL('./fake-provider.ts', import.meta.url).href;
    writeFileSync(
      script,
      [
        `import { FakeProvider } from ${JSON.stringify(source)};`,
        'const provider = new FakeProvider({ storagePath: process.argv[2] });',
        'for (const key of process.argv.slice(3)) {',
        "  await provider.launch({ location: 'fake/us-east-1/us-east-1a', capacityType: 'spot',",
        "    instanceType: 'fake.large', tags: { run: 'child' }, idempotencyKey: key });",
        '}',
        "process.kill(process.pid, 'SIGKILL');",
      ].join('\n'),
    );
    const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
    const runChild = (...keys: string[]) =>
      new Promise<NodeJS.Signals | null>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', script, storagePath, ...keys],
          { cwd: repositoryRoot, timeout: 30_000 },
          (error) => resolve(error === null ? null : (error.signal ?? null)),
        );
      });
    expect(await runChild('k1')).toBe('SIGKILL');
    expect(await runChild('k1', 'k2')).toBe('SIGKILL');
    const survivor = new FakeProvider({ storagePath });
    const instances = await survivor.list({ tags: { run: 'child' } });
    expect(instances.map((instance) => instance.id)).toEqual(['fake-000001', 'fake-000002']);
    expect(survivor.instances().map((instance) => instance.idempotencyKey)).toEqual(['k1', 'k2']);
  });

  it('refuses a file that does not hold a fake cloud', () => {
    const storagePath = join(directory, 'bad.json');
    writeFileSync(storagePath, '{"hello":1}');
    expect(() => new FakeProvider({ storagePath })).toThrow(InvalidConfigError);
    writeFileSync(storagePath, 'not json');
    expect(() => new FakeProvider({ storagePath })).toThrow(InvalidConfigError);
  });
});

describe('the conformance suite can fail', () => {
  const quick = { timeoutMs: 200 };

  it('exposes every check with a stable id', () => {
    expect(providerConformanceChecks.map((check) => check.id)).toEqual([
      'locations',
      'offerings',
      'launch-spot',
      'launch-on-demand',
      'list-by-tags',
      'idempotent-launch',
      'idempotent-terminate',
      'terminate-unknown',
      'terminate-foreign',
      'terminate-other-service',
      'terminate-empty-tags',
      'spot-capacity-error',
      'preemption-visible',
      'interruption-notice',
      'launch-aborted',
    ]);
  });

  it('fails a provider whose terminate ignores ownership', async () => {
    class IgnoresOwnership extends FakeProvider {
      override terminate(...[request, context]: Parameters<FakeProvider['terminate']>) {
        // Claims whatever tags the instance has: ownership is never really checked.
        const tags = this.instance(request.instanceId)?.tags ?? request.tags;
        return super.terminate({ ...request, tags }, context);
      }
    }
    const options = fakeHarnessOptions(() => new IgnoresOwnership(), quick);
    await expect(runProviderConformanceCheck('terminate-foreign', options)).rejects.toThrow(
      'NotOwnedError',
    );
    await expect(runProviderConformanceCheck('terminate-other-service', options)).rejects.toThrow(
      'NotOwnedError',
    );
    await runProviderConformanceCheck('launch-spot', options); // the rest still passes
  });

  it('fails a provider that swallows capacity errors', async () => {
    class SwallowsCapacity extends FakeProvider {
      override async launch(...[request, context]: Parameters<FakeProvider['launch']>) {
        try {
          return await super.launch(request, context);
        } catch (error) {
          if (!CapacityUnavailableError.isInstance(error)) throw error;
          return super.launch({ ...request, capacityType: 'on-demand' }, context);
        }
      }
    }
    const options = fakeHarnessOptions(() => new SwallowsCapacity(), quick);
    await expect(runProviderConformanceCheck('spot-capacity-error', options)).rejects.toThrow(
      'CapacityUnavailableError',
    );
  });

  it('fails a provider that still lists a preempted instance as running', async () => {
    class HidesPreemption extends FakeProvider {
      override async list(...[request, context]: Parameters<FakeProvider['list']>) {
        const instances = await super.list(request, context);
        return instances.map((instance) =>
          instance.state === 'preempted' ? { ...instance, state: 'running' as const } : instance,
        );
      }
    }
    const options = fakeHarnessOptions(() => new HidesPreemption(), quick);
    await expect(runProviderConformanceCheck('preemption-visible', options)).rejects.toThrow(
      /Timed out .* preempted/,
    );
  });

  it('fails a provider that launches twins under one idempotency key', async () => {
    let twin = 0;
    class LaunchesTwins extends FakeProvider {
      override launch(...[request, context]: Parameters<FakeProvider['launch']>) {
        twin += 1;
        return super.launch(
          { ...request, idempotencyKey: `${request.idempotencyKey}-${twin}` },
          context,
        );
      }
    }
    const options = fakeHarnessOptions(() => new LaunchesTwins(), quick);
    await expect(runProviderConformanceCheck('idempotent-launch', options)).rejects.toThrow(
      'another instance',
    );
  });

  it('fails a provider that ignores an aborted signal, and one without interruptions', async () => {
    class IgnoresAbort extends FakeProvider {
      override launch(...[request]: Parameters<FakeProvider['launch']>) {
        return super.launch(request);
      }
    }
    await expect(
      runProviderConformanceCheck(
        'launch-aborted',
        fakeHarnessOptions(() => new IgnoresAbort(), quick),
      ),
    ).rejects.toThrow('AbortedError');
    await expect(
      runProviderConformanceCheck(
        'interruption-notice',
        fakeHarnessOptions(() => new FakeProvider({ interruptions: false }), quick),
      ),
    ).rejects.toThrow('provider.interruptions is missing');
  });

  it('reports a check failure rather than a cleanup failure', async () => {
    class BrokenTerminate extends FakeProvider {
      override async terminate(): Promise<void> {
        throw new ProviderError('terminate is down');
      }
    }
    await expect(
      runProviderConformanceCheck(
        'idempotent-terminate',
        fakeHarnessOptions(() => new BrokenTerminate(), quick),
      ),
    ).rejects.toThrow('terminate is down');
    await expect(
      runProviderConformanceCheck(
        'launch-spot',
        fakeHarnessOptions(() => new BrokenTerminate(), quick),
      ),
    ).rejects.toThrow('Cleanup failed');
  });
});
