/**
 * `@spothedge/core/testing`: doubles and suites for users' tests — a virtual clock, an
 * in-memory cloud, and the provider conformance suite every provider runs.
 *
 * Importing this module never loads vitest: `runProviderConformanceSuite` loads it lazily,
 * only inside a vitest run (see `conformance.ts`).
 */
export { ManualClock } from '../clock.js';
export * from './fake-provider.js';
export * from './conformance.js';
export * from './state-store-suite.js';
