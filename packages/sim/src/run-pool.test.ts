import { IllegalStateError, InvalidArgumentError } from '@spothedge/core';
import { describe, expect, it } from 'vitest';
import { runExperiment } from './experiment.js';
import { RunPool } from './run-pool.js';
import { generateSyntheticTrace } from './synthetic-trace.js';

describe('runExperiment on worker threads', () => {
  const trace = generateSyntheticTrace({ seed: 11, hours: 12 });
  const settings = {
    trace,
    policies: ['spothedge', 'spothedge-paper', 'round-robin'] as const,
    repeats: 3,
    hours: 2,
    keepTimelines: true,
  };

  it('gives exactly the serial results, with progress for every window', async () => {
    const serial = await runExperiment({ ...settings, jobs: 1 });
    const progress: string[] = [];
    const parallel = await runExperiment({
      ...settings,
      jobs: 2,
      onProgress: ({ policy }) => progress.push(policy),
    });
    const strip = (rows: typeof serial) => rows.map(({ runtimeMs: _, ...rest }) => rest);
    expect(strip(parallel)).toEqual(strip(serial));
    expect(parallel.every((row) => row.runtimeMs > 0)).toBe(true);
    expect(progress).toHaveLength(9);
    expect(new Set(progress)).toEqual(new Set(settings.policies));
  });

  it('a shared pool serves several experiments and refuses work once closed', async () => {
    const pool = new RunPool({ jobs: 2 });
    try {
      const first = await runExperiment({ ...settings, policies: ['spothedge'], pool });
      const other = generateSyntheticTrace({ seed: 12, hours: 12 });
      const second = await runExperiment({
        ...settings,
        trace: other,
        policies: ['spothedge'],
        pool,
      });
      const serial = await runExperiment({ ...settings, trace: other, policies: ['spothedge'] });
      expect(first[0]!.trace).toBe(trace.name);
      expect(second[0]!.timelines).toEqual(serial[0]!.timelines);
    } finally {
      await pool.close();
    }
    await expect(runExperiment({ ...settings, pool })).rejects.toThrowError(IllegalStateError);
  });

  it('rejects a bad jobs count before running anything', async () => {
    const progress: unknown[] = [];
    for (const jobs of [0, 1.5, -1]) {
      await expect(
        runExperiment({ ...settings, jobs, onProgress: (event) => progress.push(event) }),
      ).rejects.toThrowError(InvalidArgumentError);
    }
    expect(progress).toEqual([]);
    expect(() => new RunPool({ jobs: 0 })).toThrowError(/`jobs`.*0/);
  });
});
