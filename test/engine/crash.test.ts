/**
 * CRASH TEST: a child process hosting the engine with the SQLite store and a file-backed
 * FakeProvider is SIGKILLed at seeded random moments while it launches, terminates and
 * scales; each restart must leave zero leaked instances and zero twins and reach the
 * target within two ticks. `pnpm bench --filter engine` runs many more crashes.
 */
import { expect, it } from 'vitest';
import { runCrashTest } from './crash-harness.js';

it('survives 50 SIGKILLs with no leaked instance, no twin, and the target within 2 ticks', async () => {
  const report = await runCrashTest({ crashes: 50, chains: 2, seed: 20261127 });
  expect(report.crashRuns).toBeGreaterThanOrEqual(50);
  expect({
    leaked: report.leaked,
    twins: report.twins,
    missedDesired: report.missedDesired,
    aliveAfterStop: report.aliveAfterStop,
  }).toEqual({ leaked: 0, twins: 0, missedDesired: 0, aliveAfterStop: 0 });
}, 240_000);
