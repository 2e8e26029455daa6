export * from './postgres-state-store.js';
export * from './postgres-migrations.js';
export * from './postgres-host-sync.js';
