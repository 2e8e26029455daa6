/**
 * `@spothedge/core/testing`: doubles and suites for users' tests — a virtual clock, an
 * in-memory cloud, and the provider conformance suite every provider runs.
 */
export { ManualClock } from '../clock.js';
