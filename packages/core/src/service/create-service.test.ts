import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { InvalidArgumentError, InvalidSpecError } from '../errors.js';
import { replicaPortOf } from '../provider.js';
import { FakeProvider } from '../testing/fake-provider.js';
import { createService } from './create-service.js';

const alive = (provider: FakeProvider) =>
  provider
    .instances()
    .filter((instance) => instance.state === 'pending' || instance.state === 'running');

function setup(overrides: Record<string, unknown> = {}) {
  const clock = new ManualClock({ now: 1_000_000 });
  const provider = new FakeProvider({ clock, locations: 3 });
  const locations = provider.locations().map((location) => location.id);
  const service = createService({
    spec: { name: 'chat', replicas: 2, locations, instanceType: 'fake.large', ...overrides },
    providers: [provider],
    clock,
    prober: { probe: () => true },
    drainMs: 0,
  });
  return { clock, provider, service, locations };
}

describe('createService', () => {
  it('rejects a bad spec with InvalidSpecError and launches nothing', () => {
    const provider = new FakeProvider({ locations: 2 });
    const bad = [
      { name: 'Bad Name', locations: ['fake/us-east-1/us-east-1a'], instanceType: 'x' },
      {
        name: 'ok',
        replicas: { min: 3, max: 1 },
        locations: ['fake/us-east-1/us-east-1a'],
        instanceType: 'x',
      },
      { name: 'ok', locations: [], instanceType: 'x' },
      { name: 'ok', locations: ['nowhere/at/all'], instanceType: 'x' },
      {
        name: 'ok',
        locations: ['fake/us-east-1/us-east-1a'],
        instanceType: 'x',
        readinessProbe: { path: 'no-slash' },
      },
    ];
    for (const spec of bad) {
      let caught: unknown;
      try {
        createService({ spec: spec as never, providers: [provider] });
      } catch (error) {
        caught = error;
      }
      expect(InvalidSpecError.isInstance(caught), JSON.stringify(spec)).toBe(true);
      expect((caught as InvalidSpecError).issues.length).toBeGreaterThan(0);
    }
    expect(provider.calls).toHaveLength(0);
  });

  it('names the location the providers do not have', () => {
    const provider = new FakeProvider({ locations: 1 });
    expect(() =>
      createService({
        spec: { name: 'ok', locations: ['aws/us-east-1/us-east-1a'], instanceType: 'x' },
        providers: [provider],
      }),
    ).toThrowError(/locations\.0.*aws\/us-east-1\/us-east-1a/);
  });

  it('rejects bad runtime options with InvalidArgumentError', () => {
    const provider = new FakeProvider({ locations: 1 });
    const spec = {
      name: 'ok',
      locations: [provider.locations()[0]!.id],
      instanceType: 'fake.large',
    };
    expect(() => createService({ spec, providers: [] })).toThrowError(InvalidArgumentError);
    expect(() => createService({ spec, providers: [provider], drainMs: -1 })).toThrowError(
      /drainMs/,
    );
    expect(() =>
      createService({ spec, providers: [provider], tickIntervalMs: Number.NaN }),
    ).toThrowError(InvalidArgumentError);
    expect(provider.calls).toHaveLength(0);
  });

  it('starts, reaches the target, reports status and events, and stops with terminate', async () => {
    const { clock, provider, service } = setup();
    const seen: string[] = [];
    const unsubscribe = service.on('replica-ready', (event) => {
      seen.push(event.replicaId);
      expect(Object.isFrozen(event)).toBe(true);
      expect(event.service).toBe('chat');
    });
    await service.start();
    await service.manager.idle();
    await clock.advance(10_000);
    await service.manager.idle();
    const status = service.status();
    expect(status.lifecycle).toBe('running');
    expect(status.ready.length).toBeGreaterThanOrEqual(2);
    expect(service.router.replicas.length).toBe(status.ready.length);
    expect(status.costPerHour).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    unsubscribe();
    await service.stop({ terminate: true });
    expect(alive(provider)).toHaveLength(0);
    expect(service.status().lifecycle).toBe('stopped');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing handler is reported and never breaks the loop', async () => {
    const { clock, service } = setup();
    const failures: string[] = [];
    service.on('replica-launch', () => {
      throw new Error('handler bug');
    });
    service.on('replica-ready', async () => {
      throw new Error('async handler bug');
    });
    service.on('handler-fail', (event) => {
      failures.push(event.event);
    });
    await service.start();
    await service.manager.idle();
    await clock.advance(10_000);
    await service.manager.idle();
    expect(service.status().ready.length).toBeGreaterThanOrEqual(2);
    expect(failures).toContain('replica-launch');
    expect(failures).toContain('replica-ready');
    await service.destroy();
  });

  it('tells providers the spec port through the replica port tag', async () => {
    const { provider, service } = setup({ port: 8081 });
    await service.start();
    await service.manager.idle();
    const ports = provider.instances().map((instance) => replicaPortOf(instance.tags));
    expect(ports.length).toBeGreaterThan(0);
    expect(new Set(ports)).toEqual(new Set([8081]));
    await service.stop({ terminate: true });
  });

  it('spans clouds with one instance type per cloud', async () => {
    const clock = new ManualClock({ now: 1_000_000 });
    const east = new FakeProvider({ clock, name: 'east', locations: 2, instanceType: 'e.large' });
    const west = new FakeProvider({ clock, name: 'west', locations: 2, instanceType: 'w.large' });
    const locations = [...east.locations(), ...west.locations()].map((location) => location.id);
    const service = createService({
      spec: { name: 'chat', replicas: 3, locations, instanceType: ['e.large', 'w.large'] },
      providers: [east, west],
      clock,
      prober: { probe: () => true },
      drainMs: 0,
    });
    await service.start();
    await service.manager.idle();
    // Four spot replicas (target 3 + 1) spread over the four locations of both clouds.
    const spotTypes = (provider: FakeProvider) =>
      alive(provider)
        .filter((instance) => instance.capacityType === 'spot')
        .map((instance) => instance.instanceType);
    expect(spotTypes(east)).toEqual(['e.large', 'e.large']);
    expect(spotTypes(west)).toEqual(['w.large', 'w.large']);
    await service.stop({ terminate: true });
  });

  it('stop() without terminate leaves the fleet for the next start', async () => {
    const { clock, provider, service } = setup();
    await service.start();
    await service.manager.idle();
    await clock.advance(10_000);
    const before = alive(provider).length;
    expect(before).toBeGreaterThan(0);
    await service.stop();
    expect(alive(provider)).toHaveLength(before);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('createService over HTTP', () => {
  it('probes replicas with the default HTTP prober and routes service.fetch to them', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ path: request.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const clock = new ManualClock({ now: 0 });
    const provider = new FakeProvider({
      clock,
      locations: 2,
      endpointFor: () => `http://127.0.0.1:${port}`,
    });
    const service = createService({
      spec: {
        name: 'http',
        replicas: 1,
        locations: provider.locations().map((location) => location.id),
        instanceType: 'fake.large',
        readinessProbe: { path: '/health', periodSeconds: 1 },
      },
      providers: [provider],
      clock,
      drainMs: 0,
    });
    try {
      await expect(service.fetch('/v1/models')).rejects.toThrowError(/ready/i);
      await service.start();
      await service.manager.idle();
      await service.reconcile();
      expect(service.status().ready.length).toBeGreaterThanOrEqual(1);
      const response = await service.fetch('/v1/models');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ path: '/v1/models' });
      expect(service.status().qps).toBeGreaterThan(0);
    } finally {
      await service.stop({ terminate: true });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(alive(provider)).toHaveLength(0);
  });
});
