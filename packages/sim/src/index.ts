/**
 * `@spothedge/sim`: spot-capacity traces (real and synthetic), a trace-driven cloud,
 * workloads, the simulator that runs the real engine in virtual time, the omniscient
 * optimum and reports.
 */
export * from './trace.js';
export * from './synthetic-trace.js';
export * from './mersenne-twister.js';
export * from './python-random.js';
export * from './window-offsets.js';
export * from './zone-shuffle.js';
export * from './workload.js';
export * from './timeline.js';
export * from './metrics.js';
export * from './latency-model.js';
export * from './optimum.js';
export * from './trace-provider.js';
export * from './virtual-clock.js';
export * from './policy-catalog.js';
export * from './simulate.js';
export * from './experiment.js';
export { RunPool } from './run-pool.js';
export type { RunPoolOptions } from './run-pool.js';
export type { PooledRun } from './simulate-window.js';
export * from './results-table.js';
export * from './html-report.js';
export * from './run-cli.js';
export { sharedDirectory, sharedTracePath, hasSharedTraces } from './shared-data.js';
