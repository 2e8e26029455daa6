/**
 * A `StateStore` over SQLite (better-sqlite3): the embedded durable default. WAL journal,
 * one transaction per write, schema versioned by `PRAGMA user_version` with forward-only
 * migrations. One file may hold one service or many (rows are keyed by service), and
 * several processes may share it (the leader lease decides who acts).
 */
import Database from 'better-sqlite3';
import {
  IllegalStateError,
  InvalidArgumentError,
  InvalidConfigError,
  LeaseLostError,
  describeValue,
} from '@spothedge/core';
import type {
  AcquireLeaseRequest,
  JsonValue,
  LaunchIntent,
  Lease,
  RenewLeaseRequest,
  ReplicaRecord,
  StateStore,
  StateWrite,
  StoredServiceState,
  WriteOptions,
} from '@spothedge/core';

/** Options of {@link SqliteStateStore}. */
export interface SqliteStateStoreOptions {
  /**
   * Database file (created if missing), or `':memory:'`. Ignored when `database` is given.
   * @example './spothedge.db'
   */
  readonly path?: string | undefined;
  /** An open better-sqlite3 connection to use instead of opening `path` (not closed by `close()`). */
  readonly database?: Database.Database | undefined;
  /**
   * How long a write waits for another process's lock.
   * @default 5_000
   */
  readonly busyTimeoutMs?: number | undefined;
  /**
   * `full` survives power loss; `normal` (WAL) survives process crashes and is faster.
   * @default 'full'
   */
  readonly synchronous?: 'full' | 'normal' | undefined;
}

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never
 * edit a released migration: append a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE replicas (
     service TEXT NOT NULL,
     id TEXT NOT NULL,
     status TEXT NOT NULL,
     data TEXT NOT NULL,
     PRIMARY KEY (service, id)
   ) WITHOUT ROWID;
   CREATE TABLE intents (
     service TEXT NOT NULL,
     idempotency_key TEXT NOT NULL,
     replica_id TEXT NOT NULL,
     data TEXT NOT NULL,
     PRIMARY KEY (service, idempotency_key)
   ) WITHOUT ROWID;
   CREATE TABLE policy_state (
     service TEXT PRIMARY KEY,
     data TEXT NOT NULL
   );
   CREATE TABLE leases (
     service TEXT PRIMARY KEY,
     holder TEXT,
     epoch INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );`,
];

interface LeaseRow {
  readonly holder: string | null;
  readonly epoch: number;
  readonly expires_at: number;
}

/**
 * Durable {@link StateStore} in a SQLite file.
 *
 * @example
 * ```ts
 * import { SqliteStateStore } from '@spothedge/store-sqlite';
 * const service = createService({ spec, providers, store: new SqliteStateStore({ path: './chat.db' }) });
 * ```
 */
export class SqliteStateStore implements StateStore {
  readonly #db: Database.Database;
  readonly #ownsDatabase: boolean;
  #closed = false;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #write: Database.Transaction<
    (service: string, write: StateWrite, fence: Lease | undefined) => void
  >;

  constructor(options: SqliteStateStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(
        `Expected \`options\` to be an object, got ${describeValue(options)}`,
        { argument: 'options', value: options },
      );
    }
    if (
      options.database === undefined &&
      (typeof options.path !== 'string' || options.path === '')
    ) {
      throw new InvalidArgumentError(
        `Expected \`path\` to be a file path or ':memory:', got ${describeValue(options.path)}`,
        { argument: 'path', value: options.path },
      );
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new InvalidArgumentError(
        `Expected \`busyTimeoutMs\` to be an integer >= 0, got ${describeValue(busyTimeoutMs)}`,
        { argument: 'busyTimeoutMs', value: busyTimeoutMs },
      );
    }
    const synchronous = options.synchronous ?? 'full';
    if (synchronous !== 'full' && synchronous !== 'normal') {
      throw new InvalidArgumentError(
        `Expected \`synchronous\` to be 'full' or 'normal', got ${describeValue(synchronous)}`,
        { argument: 'synchronous', value: synchronous },
      );
    }
    this.#ownsDatabase = options.database === undefined;
    try {
      this.#db = options.database ?? new Database(options.path!, { timeout: busyTimeoutMs });
    } catch (error) {
      throw new InvalidConfigError(
        `Cannot open the SQLite database at \`path\` ${describeValue(options.path)}`,
        { setting: 'path', value: options.path, cause: error },
      );
    }
    this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (options.path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    migrate(this.#db);
    this.#statements = prepare(this.#db);
    const statements = this.#statements;
    this.#write = this.#db.transaction(
      (service: string, write: StateWrite, fence: Lease | undefined) => {
        if (fence !== undefined)
          checkFence(statements.getLease.get(service) as LeaseRow | undefined, fence);
        for (const id of write.deleteReplicas ?? []) statements.deleteReplica.run(service, id);
        for (const key of write.deleteIntents ?? []) statements.deleteIntent.run(service, key);
        for (const record of write.replicas ?? []) {
          statements.upsertReplica.run(
            service,
            record.id,
            record.state.status,
            JSON.stringify(record),
          );
        }
        for (const intent of write.intents ?? []) {
          statements.upsertIntent.run(
            service,
            intent.idempotencyKey,
            intent.replicaId,
            JSON.stringify(intent),
          );
        }
        if (write.policyState !== undefined) {
          statements.upsertPolicy.run(service, JSON.stringify(write.policyState));
        }
      },
    );
  }

  /** The schema version of the open database (number of migrations applied). */
  get schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  #open(): void {
    if (this.#closed)
      throw new IllegalStateError('The SQLite state store is closed', { state: 'closed' });
  }

  async load(service: string): Promise<StoredServiceState> {
    this.#open();
    const read = this.#db.transaction(() => {
      const replicas = (this.#statements.loadReplicas.all(service) as { data: string }[]).map(
        (row) => JSON.parse(row.data) as ReplicaRecord,
      );
      const intents = (this.#statements.loadIntents.all(service) as { data: string }[]).map(
        (row) => JSON.parse(row.data) as LaunchIntent,
      );
      const policy = this.#statements.loadPolicy.get(service) as { data: string } | undefined;
      return {
        replicas,
        intents,
        policyState: policy === undefined ? undefined : (JSON.parse(policy.data) as JsonValue),
      };
    });
    return read();
  }

  async write(service: string, write: StateWrite, options: WriteOptions = {}): Promise<void> {
    this.#open();
    this.#write.immediate(service, write, options.fence);
  }

  async acquireLease(request: AcquireLeaseRequest): Promise<Lease | undefined> {
    this.#open();
    const acquire = this.#db.transaction((): Lease | undefined => {
      const row = this.#statements.getLease.get(request.service) as LeaseRow | undefined;
      const expiresAt = request.now + request.ttlMs;
      if (row !== undefined && row.holder === request.holder) {
        this.#statements.setLease.run(request.service, request.holder, row.epoch, expiresAt);
        return { service: request.service, holder: request.holder, epoch: row.epoch, expiresAt };
      }
      if (row !== undefined && row.holder !== null && row.expires_at > request.now)
        return undefined;
      const epoch = (row?.epoch ?? 0) + 1;
      this.#statements.setLease.run(request.service, request.holder, epoch, expiresAt);
      return { service: request.service, holder: request.holder, epoch, expiresAt };
    });
    return acquire.immediate();
  }

  async renewLease(lease: Lease, request: RenewLeaseRequest): Promise<Lease> {
    this.#open();
    const renew = this.#db.transaction((): Lease => {
      checkFence(this.#statements.getLease.get(lease.service) as LeaseRow | undefined, lease);
      const expiresAt = request.now + request.ttlMs;
      this.#statements.setLease.run(lease.service, lease.holder, lease.epoch, expiresAt);
      return { ...lease, expiresAt };
    });
    return renew.immediate();
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.#open();
    this.#statements.releaseLease.run(lease.service, lease.holder, lease.epoch);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsDatabase) this.#db.close();
  }
}

function prepare(db: Database.Database) {
  return {
    loadReplicas: db.prepare('SELECT data FROM replicas WHERE service = ? ORDER BY id'),
    loadIntents: db.prepare('SELECT data FROM intents WHERE service = ? ORDER BY idempotency_key'),
    loadPolicy: db.prepare('SELECT data FROM policy_state WHERE service = ?'),
    upsertReplica: db.prepare(
      `INSERT INTO replicas (service, id, status, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (service, id) DO UPDATE SET status = excluded.status, data = excluded.data`,
    ),
    deleteReplica: db.prepare('DELETE FROM replicas WHERE service = ? AND id = ?'),
    upsertIntent: db.prepare(
      `INSERT INTO intents (service, idempotency_key, replica_id, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (service, idempotency_key) DO UPDATE SET replica_id = excluded.replica_id, data = excluded.data`,
    ),
    deleteIntent: db.prepare('DELETE FROM intents WHERE service = ? AND idempotency_key = ?'),
    upsertPolicy: db.prepare(
      `INSERT INTO policy_state (service, data) VALUES (?, ?)
       ON CONFLICT (service) DO UPDATE SET data = excluded.data`,
    ),
    getLease: db.prepare('SELECT holder, epoch, expires_at FROM leases WHERE service = ?'),
    setLease: db.prepare(
      `INSERT INTO leases (service, holder, epoch, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (service) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch,
         expires_at = excluded.expires_at`,
    ),
    releaseLease: db.prepare(
      'UPDATE leases SET holder = NULL, expires_at = 0 WHERE service = ? AND holder = ? AND epoch = ?',
    ),
  };
}

/** Applies the migrations the database has not seen yet, each in its own transaction. */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SQLITE_MIGRATIONS.length) {
    throw new InvalidConfigError(
      `The SQLite database has schema version ${version}, newer than this @spothedge/store-sqlite (${SQLITE_MIGRATIONS.length}); upgrade the package`,
      { setting: 'path', value: db.name },
    );
  }
  for (let index = version; index < SQLITE_MIGRATIONS.length; index++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[index]!);
      db.pragma(`user_version = ${index + 1}`);
    }).immediate();
  }
}

function checkFence(row: LeaseRow | undefined, lease: Lease): void {
  if (row === undefined || row.holder !== lease.holder || row.epoch !== lease.epoch) {
    throw new LeaseLostError(
      `Lease of service \`${lease.service}\` at epoch ${lease.epoch} held by \`${lease.holder}\` is no longer current`,
    );
  }
}
