/**
 * PostgreSQL store: what a reconcile cycle costs the store at 10,000 replicas, and how long
 * a leader failover takes. Starts a throwaway cluster (Debian's postgresql package).
 *
 * - `cycle`: one leader tick's store work — renew the lease, one fenced write of the
 *   records that changed (1 % of them in steady state; all of them after a recovery) — and
 *   a follower's refresh (load of the whole table).
 * - `failover`: two hosts (ReplicaManager + PostgresStateStore each, one shared fake
 *   cloud, lease TTL 1 s, ticks 100 ms); the leader is destroyed without releasing its
 *   lease; time until the other host holds the lease, and until it has adopted the fleet
 *   and finished its first leader tick. Median of 10.
 */
import { ReplicaManager, OnDemandOnlyPolicy } from '@spothedge/core';
import type { ReplicaRecord } from '@spothedge/core';
import { FakeProvider } from '@spothedge/core/testing';
import { PostgresStateStore } from '@spothedge/store-postgres';
import { startPostgresCluster } from '@spothedge/store-postgres/testing';
import { round, summarize, writeResult } from './results.js';

const REPLICAS = 10_000;
const cluster = await startPostgresCluster();

function record(index: number, readyAt: number): ReplicaRecord {
  const id = `r-${index.toString(16).padStart(8, '0')}`;
  return {
    id,
    provider: 'fake',
    location: `fake/us-east-1/us-east-1${'abc'[index % 3]}`,
    instanceType: 'fake.large',
    capacityType: index % 4 === 0 ? 'on-demand' : 'spot',
    idempotencyKey: id,
    launchedAt: 1_700_000_000_000,
    state: { status: 'ready', instanceId: `i-${id}`, runningAt: readyAt - 1, readyAt },
    instanceId: `i-${id}`,
    endpoint: `http://10.0.${(index >> 8) & 255}.${index & 255}:8080`,
  };
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

try {
  // ------------------------------------------------------------ reconcile cycle
  const leader = new PostgresStateStore({ connectionString: cluster.connectionString });
  const follower = new PostgresStateStore({ connectionString: cluster.connectionString });
  const all = Array.from({ length: REPLICAS }, (_, index) => record(index, 1));
  let lease = (await leader.acquireLease({ service: 'big', holder: 'a', ttlMs: 60_000, now: 0 }))!;
  const initialWriteMs = await time(() => leader.write('big', { replicas: all }, { fence: lease }));

  const steady: number[] = [];
  for (let round_ = 0; round_ < 30; round_++) {
    const changed = Array.from({ length: REPLICAS / 100 }, (_, index) =>
      record((round_ * 97 + index * 101) % REPLICAS, round_ + 2),
    );
    steady.push(
      await time(async () => {
        lease = await leader.renewLease(lease, { ttlMs: 60_000, now: 0 });
        await leader.write('big', { replicas: changed }, { fence: lease });
      }),
    );
  }
  const full: number[] = [];
  for (let round_ = 0; round_ < 5; round_++) {
    const changed = all.map((item, index) => record(index, round_ + 100));
    full.push(
      await time(async () => {
        lease = await leader.renewLease(lease, { ttlMs: 60_000, now: 0 });
        await leader.write('big', { replicas: changed }, { fence: lease });
      }),
    );
  }
  const loads: number[] = [];
  for (let round_ = 0; round_ < 10; round_++) {
    loads.push(
      await time(async () => {
        const state = await follower.load('big');
        if (state.replicas.length !== REPLICAS) throw new Error('load lost replicas');
      }),
    );
  }
  await leader.close();
  await follower.close();

  // ------------------------------------------------------------ failover
  const provider = new FakeProvider({ locations: 3 });
  const acquired: number[] = [];
  const adopted: number[] = [];
  for (let round_ = 0; round_ < 10; round_++) {
    const schema = `failover_${round_}`;
    const service = `svc-${round_}`;
    const host = (name: string) => {
      const store = new PostgresStateStore({ connectionString: cluster.connectionString, schema });
      const manager = new ReplicaManager({
        service,
        providers: [provider],
        policy: new OnDemandOnlyPolicy(),
        target: 3,
        store,
        prober: { probe: () => true },
        readinessProbe: { periodMs: 0 },
        tickIntervalMs: 100,
        drainMs: 0,
        lease: { holder: name, ttlMs: 1_000 },
      });
      return { store, manager };
    };
    const first = host('a');
    const second = host('b');
    const secondManager = second.manager;
    await first.manager.start();
    while (first.manager.readyReplicas().length < 3) await first.manager.reconcile();
    let acquiredAt: number | undefined;
    secondManager.on('lease-acquire', () => {
      acquiredAt = performance.now();
    });
    await secondManager.start();
    await first.manager.destroy(); // crash: the lease is not released
    const crashedAt = performance.now();
    while (acquiredAt === undefined || !secondManager.status().leader) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ticks = secondManager.status().ticks;
    while (secondManager.status().ticks === ticks) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const doneAt = performance.now();
    if (secondManager.readyReplicas().length !== 3) throw new Error('fleet not adopted');
    acquired.push(acquiredAt - crashedAt);
    adopted.push(doneAt - crashedAt);
    await secondManager.stop({ terminate: true });
    await first.store.close();
    await second.store.close();
  }

  writeResult('store-postgres', {
    replicas: REPLICAS,
    cycle: {
      leaderSteadyMs: summarize(steady),
      leaderSteadyChangedRecords: REPLICAS / 100,
      leaderAllChangedMs: summarize(full),
      followerLoadMs: summarize(loads),
      initialWriteMs: round(initialWriteMs),
    },
    failover: {
      leaseTtlMs: 1_000,
      tickIntervalMs: 100,
      leaseAcquiredMs: summarize(acquired),
      fleetAdoptedMs: summarize(adopted),
      runs: acquired.length,
    },
  });
} finally {
  await cluster.stop();
}
