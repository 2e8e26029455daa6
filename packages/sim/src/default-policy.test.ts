import { describe, expect, it } from 'vitest';
import { runExperiment } from './experiment.js';
import { hasSharedTraces, sharedTracePath } from './shared-data.js';
import { generateSyntheticTrace } from './synthetic-trace.js';
import type { SyntheticTraceOptions } from './synthetic-trace.js';
import { loadTrace } from './trace.js';

// Means of per-repeat shares: equal tick counts summed in another order can differ in the
// last bit, far below one tick (1 / 28 760 of a 10-repeat mean).
const ROUNDING = 1e-12;

// The "beat it" bar: with the paper's settings (target 3, N_extra 1, cold start
// 120 s, 30 s ticks, 24 h, 10 repeats, seed 0, the artifact's zone orders — runExperiment's
// defaults), our default
// `spothedge` must dominate `spothedge-paper` on every shared trace (availability at least
// as high and cost no higher, same run) and reach 99.5% availability.
describe.skipIf(!hasSharedTraces)(
  'default policy vs the paper (skipped: ../shared/traces not found beside the repo)',
  () => {
    for (const name of ['aws1', 'aws3', 'gcp1']) {
      it(`spothedge dominates spothedge-paper on ${name} and reaches 99.5%`, async () => {
        const [ours, paper] = await runExperiment({
          trace: loadTrace({ path: sharedTracePath(name) }),
          policies: ['spothedge', 'spothedge-paper'],
        });
        expect(ours!.repeats).toBe(10);
        expect(ours!.availability).toBeGreaterThanOrEqual(paper!.availability - ROUNDING);
        expect(ours!.cost).toBeLessThanOrEqual(paper!.cost + ROUNDING);
        expect(ours!.availability).toBeGreaterThanOrEqual(0.995);
      }, 120_000);
    }
  },
);

// The same bar on traces the defaults were not developed on: seeded synthetic traces as the
// CLI builds them (`--trace synthetic:N`: 96 h generated, 24 h windows), which run without
// ../shared. docs/evaluation.md has the wider robustness table (more seeds, other zone
// layouts, targets and cold starts) and what still loses there. `cap2` (capacity 2 per
// zone: spot short for hours) is the robustness row the margin kept while spot is short
// turned from a loss into a win.
describe('default policy vs the paper on synthetic traces', () => {
  const cases: Array<[string, SyntheticTraceOptions]> = [
    ['synthetic:1', { seed: 1 }],
    ['synthetic:2', { seed: 2 }],
    ['synthetic:3', { seed: 3 }],
    ['synthetic:15 cap2', { seed: 15, maxCapacity: 2, diurnalAmplitude: 1 }],
  ];
  for (const [name, options] of cases) {
    it(`spothedge dominates spothedge-paper on ${name}`, async () => {
      const [ours, paper] = await runExperiment({
        trace: generateSyntheticTrace({ ...options, hours: 96 }),
        policies: ['spothedge', 'spothedge-paper'],
      });
      expect(ours!.availability).toBeGreaterThanOrEqual(paper!.availability - ROUNDING);
      expect(ours!.cost).toBeLessThanOrEqual(paper!.cost + ROUNDING);
    }, 120_000);
  }
});
