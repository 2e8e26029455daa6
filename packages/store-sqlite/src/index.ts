export * from './sqlite-state-store.js';
