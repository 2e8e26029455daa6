/**
 * Versioned schema migrations. Every host runs them at start; they are serialized by a
 * transaction-scoped advisory lock, so any number of hosts may start at once.
 */
import type pg from 'pg';

/**
 * One migration: `version` (1, 2, ...) and its SQL, where `{schema}` stands for the quoted
 * schema name. Never edit a released migration: append a new one.
 */
export interface PostgresMigration {
  readonly version: number;
  readonly sql: string;
}

/** The schema, in order. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `CREATE TABLE {schema}.replicas (
       service text NOT NULL,
       id text NOT NULL,
       status text NOT NULL,
       data jsonb NOT NULL,
       PRIMARY KEY (service, id)
     );
     CREATE TABLE {schema}.intents (
       service text NOT NULL,
       idempotency_key text NOT NULL,
       replica_id text NOT NULL,
       data jsonb NOT NULL,
       PRIMARY KEY (service, idempotency_key)
     );
     CREATE TABLE {schema}.policy_state (
       service text PRIMARY KEY,
       data jsonb NOT NULL
     );
     CREATE TABLE {schema}.leases (
       service text PRIMARY KEY,
       holder text,
       epoch bigint NOT NULL,
       expires_at bigint NOT NULL
     );`,
  },
  {
    version: 2,
    sql: `CREATE TABLE {schema}.request_counts (
       service text NOT NULL,
       host text NOT NULL,
       bucket bigint NOT NULL,
       count bigint NOT NULL,
       PRIMARY KEY (service, host, bucket)
     );
     CREATE INDEX request_counts_by_bucket ON {schema}.request_counts (service, bucket);`,
  },
];

/**
 * Applies the migrations `schema` lacks, in one transaction under
 * `pg_advisory_xact_lock`, so concurrent callers wait for each other and each migration
 * runs exactly once. Resolves the schema version.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number> {
  const quoted = client.escapeIdentifier(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `spothedge-migrations:${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const result = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${quoted}.migrations`,
    );
    let version = result.rows[0]?.version ?? 0;
    for (const migration of migrations) {
      if (migration.version <= version) continue;
      await client.query(migration.sql.replaceAll('{schema}', quoted));
      await client.query(`INSERT INTO ${quoted}.migrations (version) VALUES ($1)`, [
        migration.version,
      ]);
      version = migration.version;
    }
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
