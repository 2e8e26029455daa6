/**
 * The state-store contract suite: every `StateStore` (in-memory, SQLite, PostgreSQL, a
 * user's own) runs the same checks. Like the provider conformance suite, vitest is loaded
 * only inside a vitest run; the checks themselves use `node:assert` and are exported for
 * other runners.
 */
import assert from 'node:assert/strict';
import type * as Vitest from 'vitest';
import { IllegalStateError, LeaseLostError } from '../errors.js';
import type { LaunchIntent, ReplicaRecord, StateStore } from '../engine/state-store.js';

/** Options of {@link runStateStoreContractSuite}. */
export interface StateStoreContractOptions {
  /** Suite name, e.g. `SqliteStateStore`. */
  readonly name: string;
  /** A fresh, empty store (called once per check). */
  createStore(): StateStore | Promise<StateStore>;
  /**
   * For durable stores: close `store` and open another over the same data. The durability
   * check is skipped without it.
   */
  reopen?(store: StateStore): StateStore | Promise<StateStore>;
  /** Called after each check with the store it used (e.g. to delete files). */
  cleanup?(store: StateStore): void | Promise<void>;
}

/** One contract check: gets a fresh store, throws on violation. */
export interface StateStoreCheck {
  readonly name: string;
  run(store: StateStore, options: StateStoreContractOptions): Promise<StateStore | void>;
}

function record(id: string, overrides: Partial<ReplicaRecord> = {}): ReplicaRecord {
  return {
    id,
    provider: 'fake',
    location: 'fake/us-east-1/us-east-1a',
    instanceType: 'fake.large',
    capacityType: 'spot',
    idempotencyKey: id,
    launchedAt: 1_000,
    state: { status: 'starting', instanceId: `i-${id}`, runningAt: 2_000 },
    endpoint: `http://10.0.0.1:8080/${id}`,
    ...overrides,
  };
}

function intent(key: string, replicaId = key): LaunchIntent {
  return {
    idempotencyKey: key,
    replicaId,
    provider: 'fake',
    location: 'fake/us-east-1/us-east-1b',
    instanceType: 'fake.large',
    capacityType: 'on-demand',
    createdAt: 3_000,
  };
}

const byId = <T extends { id: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => (a.id < b.id ? -1 : 1));

async function rejectsWithLeaseLost(promise: Promise<unknown>): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(LeaseLostError.isInstance(caught), `expected LeaseLostError, got ${String(caught)}`);
}

/** The checks, in order. */
export const stateStoreContractChecks: readonly StateStoreCheck[] = [
  {
    name: 'an unknown service loads empty',
    async run(store) {
      const state = await store.load('nobody');
      assert.deepEqual(state.replicas, []);
      assert.deepEqual(state.intents, []);
      assert.equal(state.policyState, undefined);
    },
  },
  {
    name: 'writes round-trip replicas, intents and policy state exactly',
    async run(store) {
      const replicas = [
        record('r-1'),
        record('r-2', {
          capacityType: 'on-demand',
          state: { status: 'ready', instanceId: 'i-r-2', runningAt: 2, readyAt: 3 },
          interruptionNoticedAt: 7,
        }),
        record('r-3', { state: { status: 'pending' }, endpoint: undefined }),
      ];
      const policyState = {
        kind: 'spothedge',
        preempted: ['a', 'b'],
        seed: 42,
        nested: { x: null },
      };
      await store.write('svc', { replicas, intents: [intent('k-1')], policyState });
      const state = await store.load('svc');
      assert.deepEqual(
        byId(state.replicas).map((item) => JSON.parse(JSON.stringify(item)) as unknown),
        replicas.map((item) => JSON.parse(JSON.stringify(item)) as unknown),
      );
      assert.deepEqual(state.intents, [intent('k-1')]);
      assert.deepEqual(state.policyState, policyState);
    },
  },
  {
    name: 'upserts replace by key, deletes apply before upserts, unknown deletes are no-ops',
    async run(store) {
      await store.write('svc', {
        replicas: [record('r-1'), record('r-2')],
        intents: [intent('k-1')],
      });
      await store.write('svc', {
        replicas: [
          record('r-1', { state: { status: 'terminating', instanceId: 'i-r-1', reason: 'down' } }),
        ],
        deleteReplicas: ['r-2', 'r-unknown'],
        deleteIntents: ['k-1', 'k-unknown'],
        intents: [intent('k-2', 'r-9')],
      });
      await store.write('svc', { deleteReplicas: ['r-3'], replicas: [record('r-3')] });
      const state = await store.load('svc');
      assert.deepEqual(
        byId(state.replicas).map((item) => [item.id, item.state.status]),
        [
          ['r-1', 'terminating'],
          ['r-3', 'starting'],
        ],
      );
      assert.deepEqual(state.intents, [intent('k-2', 'r-9')]);
    },
  },
  {
    name: 'a write without policy state keeps the stored one',
    async run(store) {
      await store.write('svc', { policyState: { v: 1 } });
      await store.write('svc', { replicas: [record('r-1')] });
      assert.deepEqual((await store.load('svc')).policyState, { v: 1 });
      await store.write('svc', { policyState: { v: 2 } });
      assert.deepEqual((await store.load('svc')).policyState, { v: 2 });
    },
  },
  {
    name: 'services are isolated',
    async run(store) {
      await store.write('a', {
        replicas: [record('r-1')],
        intents: [intent('k-1')],
        policyState: 1,
      });
      await store.write('b', { replicas: [record('r-2')] });
      await store.write('b', { deleteReplicas: ['r-1'], deleteIntents: ['k-1'] });
      const a = await store.load('a');
      const b = await store.load('b');
      assert.deepEqual(
        a.replicas.map((item) => item.id),
        ['r-1'],
      );
      assert.deepEqual(
        a.intents.map((item) => item.idempotencyKey),
        ['k-1'],
      );
      assert.deepEqual(
        b.replicas.map((item) => item.id),
        ['r-2'],
      );
      assert.equal(b.policyState, undefined);
    },
  },
  {
    name: 'concurrent writes are all applied',
    async run(store) {
      await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          store.write('svc', { replicas: [record(`r-${index}`)], intents: [intent(`k-${index}`)] }),
        ),
      );
      const state = await store.load('svc');
      assert.equal(state.replicas.length, 50);
      assert.equal(state.intents.length, 50);
    },
  },
  {
    name: 'lease: one holder at a time, same holder extends, expiry hands over with a higher epoch',
    async run(store) {
      const first = await store.acquireLease({ service: 'svc', holder: 'a', ttlMs: 1_000, now: 0 });
      assert.ok(first);
      assert.equal(first.holder, 'a');
      assert.equal(first.expiresAt, 1_000);
      assert.equal(
        await store.acquireLease({ service: 'svc', holder: 'b', ttlMs: 1_000, now: 500 }),
        undefined,
      );
      const again = await store.acquireLease({
        service: 'svc',
        holder: 'a',
        ttlMs: 1_000,
        now: 600,
      });
      assert.ok(again);
      assert.equal(again.epoch, first.epoch);
      assert.equal(again.expiresAt, 1_600);
      // Another service's lease is independent.
      assert.ok(
        await store.acquireLease({ service: 'other', holder: 'b', ttlMs: 1_000, now: 600 }),
      );
      const taken = await store.acquireLease({
        service: 'svc',
        holder: 'b',
        ttlMs: 1_000,
        now: 1_601,
      });
      assert.ok(taken);
      assert.equal(taken.holder, 'b');
      assert.ok(taken.epoch > first.epoch);
      await rejectsWithLeaseLost(store.renewLease(again, { ttlMs: 1_000, now: 1_700 }));
    },
  },
  {
    name: 'lease: renew extends, release frees, epochs never repeat',
    async run(store) {
      const lease = await store.acquireLease({ service: 'svc', holder: 'a', ttlMs: 1_000, now: 0 });
      assert.ok(lease);
      const renewed = await store.renewLease(lease, { ttlMs: 5_000, now: 900 });
      assert.equal(renewed.epoch, lease.epoch);
      assert.equal(renewed.expiresAt, 5_900);
      // An expired lease nobody took over can still be renewed by its holder.
      const late = await store.renewLease(renewed, { ttlMs: 1_000, now: 10_000 });
      assert.equal(late.expiresAt, 11_000);
      await store.releaseLease(late);
      await rejectsWithLeaseLost(store.renewLease(late, { ttlMs: 1_000, now: 10_001 }));
      const next = await store.acquireLease({
        service: 'svc',
        holder: 'b',
        ttlMs: 1_000,
        now: 10_002,
      });
      assert.ok(next);
      assert.ok(next.epoch > lease.epoch, 'epoch increases after a release');
      await store.releaseLease(late); // stale release: no effect
      assert.equal(
        await store.acquireLease({ service: 'svc', holder: 'c', ttlMs: 1_000, now: 10_003 }),
        undefined,
      );
    },
  },
  {
    name: 'fenced writes apply only under the current lease',
    async run(store) {
      const old = await store.acquireLease({ service: 'svc', holder: 'a', ttlMs: 1_000, now: 0 });
      assert.ok(old);
      await store.write('svc', { replicas: [record('r-1')] }, { fence: old });
      const current = await store.acquireLease({
        service: 'svc',
        holder: 'b',
        ttlMs: 1_000,
        now: 2_000,
      });
      assert.ok(current);
      await rejectsWithLeaseLost(
        store.write(
          'svc',
          { replicas: [record('r-2')], deleteReplicas: ['r-1'], policyState: { stale: true } },
          { fence: old },
        ),
      );
      let state = await store.load('svc');
      assert.deepEqual(
        state.replicas.map((item) => item.id),
        ['r-1'],
        'a refused write applies nothing',
      );
      assert.equal(state.policyState, undefined);
      await store.write('svc', { replicas: [record('r-3')] }, { fence: current });
      state = await store.load('svc');
      assert.deepEqual(
        byId(state.replicas).map((item) => item.id),
        ['r-1', 'r-3'],
      );
      await store.releaseLease(current);
      await rejectsWithLeaseLost(
        store.write('svc', { deleteReplicas: ['r-1'] }, { fence: current }),
      );
    },
  },
  {
    name: 'state and lease epochs survive reopening (durable stores)',
    async run(store, options) {
      if (options.reopen === undefined) return;
      const lease = await store.acquireLease({ service: 'svc', holder: 'a', ttlMs: 1_000, now: 0 });
      assert.ok(lease);
      await store.write(
        'svc',
        { replicas: [record('r-1')], intents: [intent('k-1')], policyState: { v: 1 } },
        { fence: lease },
      );
      const reopened = await options.reopen(store);
      const state = await reopened.load('svc');
      assert.deepEqual(
        state.replicas.map((item) => item.id),
        ['r-1'],
      );
      assert.deepEqual(state.intents, [intent('k-1')]);
      assert.deepEqual(state.policyState, { v: 1 });
      const next = await reopened.acquireLease({
        service: 'svc',
        holder: 'b',
        ttlMs: 1_000,
        now: 5_000,
      });
      assert.ok(next);
      assert.ok(next.epoch > lease.epoch);
      return reopened;
    },
  },
  {
    name: 'a closed store rejects',
    async run(store) {
      await store.close();
      await assert.rejects(store.load('svc'));
      await assert.rejects(store.write('svc', { replicas: [record('r-1')] }));
    },
  },
];

type VitestApi = Pick<typeof Vitest, 'describe' | 'it'>;
const vitest: VitestApi | undefined =
  process.env['VITEST'] === undefined
    ? undefined
    : await import('vitest').catch((): undefined => undefined);

/** Runs one check against a fresh store and cleans up. */
export async function runStateStoreCheck(
  check: StateStoreCheck,
  options: StateStoreContractOptions,
): Promise<void> {
  let store = await options.createStore();
  try {
    store = (await check.run(store, options)) ?? store;
  } finally {
    await store.close().catch(() => undefined);
    await options.cleanup?.(store);
  }
}

/**
 * Registers the state-store contract as vitest tests.
 *
 * @example
 * ```ts
 * runStateStoreContractSuite({
 *   name: 'SqliteStateStore',
 *   createStore: () => new SqliteStateStore({ path: ':memory:' }),
 * });
 * ```
 */
export function runStateStoreContractSuite(options: StateStoreContractOptions): void {
  if (vitest === undefined) {
    throw new IllegalStateError(
      'runStateStoreContractSuite registers vitest tests: call it from a test file run by vitest. With another runner, loop over `stateStoreContractChecks` with `runStateStoreCheck`.',
      { state: 'no-vitest' },
    );
  }
  const { describe, it } = vitest;
  describe(`StateStore contract: ${options.name}`, () => {
    for (const check of stateStoreContractChecks) {
      it(check.name, () => runStateStoreCheck(check, options));
    }
  });
}
