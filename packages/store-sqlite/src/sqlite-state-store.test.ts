import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidConfigError } from '@spothedge/core';
import { runStateStoreContractSuite } from '@spothedge/core/testing';
import { SQLITE_MIGRATIONS, SqliteStateStore } from './sqlite-state-store.js';

const directory = mkdtempSync(join(tmpdir(), 'spothedge-sqlite-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;
const paths = new WeakMap<object, string>();

runStateStoreContractSuite({
  name: 'SqliteStateStore (:memory:)',
  createStore: () => new SqliteStateStore({ path: ':memory:' }),
});

runStateStoreContractSuite({
  name: 'SqliteStateStore (file, WAL)',
  createStore() {
    const path = join(directory, `store-${counter++}.db`);
    const store = new SqliteStateStore({ path });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store)!;
    await store.close();
    const reopened = new SqliteStateStore({ path });
    paths.set(reopened, path);
    return reopened;
  },
});

describe('SqliteStateStore', () => {
  it('uses WAL and records the schema version', async () => {
    const path = join(directory, 'wal.db');
    const store = new SqliteStateStore({ path });
    expect(store.schemaVersion).toBe(SQLITE_MIGRATIONS.length);
    await store.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    db.close();
  });

  it('refuses a database from a newer version', () => {
    const path = join(directory, 'newer.db');
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteStateStore({ path })).toThrowError(InvalidConfigError);
  });

  it('validates its options', () => {
    expect(() => new SqliteStateStore({ path: '' })).toThrowError(InvalidArgumentError);
    expect(() => new SqliteStateStore({ path: ':memory:', busyTimeoutMs: -1 })).toThrowError(
      /busyTimeoutMs/,
    );
    expect(
      () => new SqliteStateStore({ path: join(directory, 'missing', 'dir', 'x.db') }),
    ).toThrowError(InvalidConfigError);
  });

  it('two stores over one file see each other and share the lease', async () => {
    const path = join(directory, 'shared.db');
    const a = new SqliteStateStore({ path });
    const b = new SqliteStateStore({ path });
    const lease = await a.acquireLease({ service: 'svc', holder: 'a', ttlMs: 1_000, now: 0 });
    expect(lease).toBeDefined();
    expect(
      await b.acquireLease({ service: 'svc', holder: 'b', ttlMs: 1_000, now: 10 }),
    ).toBeUndefined();
    await a.write('svc', { policyState: { from: 'a' } }, { fence: lease });
    expect((await b.load('svc')).policyState).toEqual({ from: 'a' });
    await a.close();
    await b.close();
  });
});
