import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, LeaseLostError, createService } from '@spothedge/core';
import type { ReplicaRecord } from '@spothedge/core';
import { FakeProvider, runStateStoreContractSuite } from '@spothedge/core/testing';
import { PostgresHostSync } from './postgres-host-sync.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { PostgresStateStore } from './postgres-state-store.js';
import { startPostgresCluster } from './testing/postgres-cluster.js';
import type { PostgresCluster } from './testing/postgres-cluster.js';

let cluster: PostgresCluster;
let schemas = 0;
const stores: PostgresStateStore[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 60_000);

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await cluster?.stop();
});

function open(options: Partial<ConstructorParameters<typeof PostgresStateStore>[0]> = {}) {
  const store = new PostgresStateStore({
    connectionString: cluster.connectionString,
    schema: `test_${++schemas}`,
    ...options,
  });
  stores.push(store);
  return store;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function record(id: string): ReplicaRecord {
  return {
    id,
    provider: 'fake',
    location: 'fake/r/z',
    instanceType: 'fake.large',
    capacityType: 'spot',
    idempotencyKey: id,
    launchedAt: 1,
    state: { status: 'ready', instanceId: `i-${id}`, runningAt: 2, readyAt: 3 },
    endpoint: `http://127.0.0.1:1/${id}`,
  };
}

runStateStoreContractSuite({
  name: 'PostgresStateStore',
  createStore: () => open({ leaseClock: 'caller' }),
  async reopen(store) {
    await store.close();
    return open({ leaseClock: 'caller', schema: (store as PostgresStateStore).schema });
  },
});

describe('PostgresStateStore', () => {
  it('validates its options eagerly', () => {
    expect(() => new PostgresStateStore({})).toThrowError(InvalidArgumentError);
    expect(
      () => new PostgresStateStore({ connectionString: 'postgres://x', schema: 'Bad-Name' }),
    ).toThrowError(/`schema`/);
    expect(
      () =>
        new PostgresStateStore({
          connectionString: 'postgres://x',
          leaseClock: 'host' as 'caller',
        }),
    ).toThrowError(/`leaseClock`/);
  });

  it('migrations run concurrently from three hosts, each exactly once', async () => {
    const schema = `test_${++schemas}`;
    const hosts = [0, 1, 2].map(() => open({ schema }));
    await Promise.all(hosts.map((store) => store.migrate()));
    await Promise.all(hosts.map((store) => store.load('svc')));
    const client = new pg.Client({ connectionString: cluster.connectionString });
    await client.connect();
    try {
      const result = await client.query<{ version: number }>(
        `SELECT version FROM ${schema}.migrations ORDER BY version`,
      );
      expect(result.rows.map((row) => row.version)).toEqual(
        POSTGRES_MIGRATIONS.map((migration) => migration.version),
      );
    } finally {
      await client.end();
    }
  });

  it('database lease clock: expiry by the server clock, a higher epoch fences the old holder', async () => {
    const a = open();
    const b = open({ schema: a.schema });
    const first = await a.acquireLease({ service: 'svc', holder: 'a', ttlMs: 300, now: 0 });
    expect(first).toBeDefined();
    // The caller's `now` does not matter: the server says the lease is live.
    expect(
      await b.acquireLease({ service: 'svc', holder: 'b', ttlMs: 300, now: 10_000_000 }),
    ).toBeUndefined();
    await until(
      async () =>
        (await b.acquireLease({ service: 'svc', holder: 'b', ttlMs: 60_000, now: 0 })) !==
        undefined,
      'the lease to expire',
    );
    const current = await b.currentLease('svc');
    expect(current?.holder).toBe('b');
    expect(current!.epoch).toBeGreaterThan(first!.epoch);
    await expect(a.write('svc', { replicas: [record('r-1')] }, { fence: first })).rejects.toSatisfy(
      (error) => LeaseLostError.isInstance(error),
    );
    await expect(a.renewLease(first!, { ttlMs: 300, now: 0 })).rejects.toSatisfy((error) =>
      LeaseLostError.isInstance(error),
    );
    expect((await a.load('svc')).replicas).toEqual([]);
  });

  it('the lease expiry it returns is the caller-side deadline', async () => {
    const store = open();
    const lease = await store.acquireLease({ service: 'svc', holder: 'a', ttlMs: 1_000, now: 5 });
    expect(lease?.expiresAt).toBe(1_005);
    const renewed = await store.renewLease(lease!, { ttlMs: 2_000, now: 10 });
    expect(renewed.expiresAt).toBe(2_010);
  });

  it('watch: a write that changes replicas notifies other hosts; the listener reconnects', async () => {
    const writer = open();
    const reader = open({ schema: writer.schema, reconnectDelayMs: 50 });
    let calls = 0;
    const unsubscribe = reader.watch('svc', () => calls++);
    await until(() => calls >= 1, 'the initial catch-up call');
    const before = calls;
    await writer.write('svc', { replicas: [record('r-1')] });
    await until(() => calls > before, 'a notification');
    // Losing the listener's connection: it reconnects and calls again (changes may be missed).
    const admin = new pg.Client({ connectionString: cluster.connectionString });
    await admin.connect();
    const afterWrite = calls;
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`,
    );
    await admin.end();
    await until(() => calls > afterWrite, 'the catch-up call after reconnecting');
    await writer.write('svc', { policyState: { only: 'policy' } });
    const settled = calls;
    await writer.write('svc', { replicas: [record('r-2')] });
    await until(() => calls > settled, 'a notification after reconnecting');
    unsubscribe();
  });

  it('request counts add up per host and bucket, and are pruned', async () => {
    const store = open();
    await store.addRequestCounts('svc', [
      { host: 'a', bucket: 10, count: 2 },
      { host: 'b', bucket: 10, count: 1 },
    ]);
    await store.addRequestCounts('svc', [
      { host: 'a', bucket: 10, count: 3 },
      { host: 'a', bucket: 11, count: 1 },
    ]);
    const counts = await store.requestCounts('svc', 10);
    expect(
      counts.sort((x, y) => `${x.host}${x.bucket}`.localeCompare(`${y.host}${y.bucket}`)),
    ).toEqual([
      { host: 'a', bucket: 10, count: 5 },
      { host: 'a', bucket: 11, count: 1 },
      { host: 'b', bucket: 10, count: 1 },
    ]);
    await store.pruneRequestCounts('svc', 11);
    expect(await store.requestCounts('svc', 0)).toEqual([{ host: 'a', bucket: 11, count: 1 }]);
  });

  it('connection loss: calls reject within the query timeout, then work again', async () => {
    const errors: unknown[] = [];
    const store = open({
      queryTimeoutMs: 500,
      connectTimeoutMs: 500,
      onError: (e) => errors.push(e),
    });
    await store.write('svc', { replicas: [record('r-1')] });
    // Every backend dropped (failover, admin kill): the pool replaces its connections.
    const admin = new pg.Client({ connectionString: cluster.connectionString });
    await admin.connect();
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND datname = current_database()`,
    );
    await admin.end();
    await until(async () => {
      try {
        return (await store.load('svc')).replicas.length === 1;
      } catch {
        return false;
      }
    }, 'the store to reconnect');
    // Server unreachable (paused): calls fail instead of hanging.
    cluster.pause();
    try {
      await expect(store.load('svc')).rejects.toThrow();
    } finally {
      cluster.resume();
    }
    await until(async () => {
      try {
        return (await store.load('svc')).replicas.length === 1;
      } catch {
        return false;
      }
    }, 'the store to recover');
  });
});

describe('router-only host', () => {
  it("routes from the leader's table, shares its request counts and never leads, even with the lease free", async () => {
    const provider = new FakeProvider({ locations: 2 });
    const leaderStore = open();
    const routerStore = open({ schema: leaderStore.schema });
    const service = (holder: string, store: PostgresStateStore, routerOnly: boolean) => {
      const sync = new PostgresHostSync({ store, host: holder, flushIntervalMs: 100 });
      const created = createService({
        spec: {
          name: 'chat',
          replicas: { min: 2, max: 2 },
          locations: provider.locations().map((location) => location.id),
          instanceType: 'fake.large',
          spot: { enabled: false },
        },
        providers: [provider],
        store,
        prober: { probe: () => true },
        lease: { holder, ttlMs: 1_000, routerOnly },
        tickIntervalMs: 100,
        requestRecorder: sync,
      });
      sync.attach(created);
      return { service: created, sync };
    };
    const leader = service('leader', leaderStore, false);
    const router = service('router', routerStore, true);
    const acquired: number[] = [];
    router.service.on('lease-acquire', (event) => acquired.push(event.epoch));
    await router.service.start();
    await leader.service.start();
    await until(() => router.service.router.replicas.length === 2, 'the router-only host to route');
    expect(router.service.status().leader).toBe(false);
    expect(leader.service.status().leader).toBe(true);
    // The router-only host's traffic reaches the leader's autoscaler.
    for (let index = 0; index < 30; index++) router.sync.record(Date.now());
    await until(() => leader.service.status().qps > 0, "the leader to count the router's requests");

    await leader.service.stop(); // releases the lease
    await leader.sync.close();
    expect(await routerStore.currentLease('chat')).toBeUndefined();
    const ticks = router.service.status().ticks;
    await until(() => router.service.status().ticks >= ticks + 5, 'five more router ticks');
    expect(acquired).toEqual([]);
    expect(router.service.status().leader).toBe(false);
    expect(await routerStore.currentLease('chat')).toBeUndefined();
    expect(router.service.router.replicas).toHaveLength(2); // the fleet is left running
    await router.service.stop({ terminate: true }); // not the leader: terminates nothing
    await router.sync.close();
    expect(provider.instances().filter((instance) => instance.state === 'running')).toHaveLength(2);
  });
});

describe('leader stop', () => {
  it('stop({ terminate: true }) with a drain longer than the lease renews it and terminates everything', async () => {
    const provider = new FakeProvider({ locations: 2 });
    const service = createService({
      spec: {
        name: 'chat',
        replicas: { min: 2, max: 2 },
        locations: provider.locations().map((location) => location.id),
        instanceType: 'fake.large',
        spot: { enabled: false },
      },
      providers: [provider],
      store: open(),
      prober: { probe: () => true },
      lease: { holder: 'solo', ttlMs: 300 },
      tickIntervalMs: 100,
      drainMs: 600,
    });
    await service.start();
    await until(() => service.status().ready.length === 2, 'two ready replicas');
    await service.stop({ terminate: true });
    expect(
      provider
        .instances()
        .filter((instance) => instance.state === 'running' || instance.state === 'pending'),
    ).toEqual([]);
  });
});
