/**
 * `pnpm bench --filter robustness`: the default policy against the paper's on the cases of
 * docs/evaluation.md ("Robustness" and "Savings buy the paper's margin"), same windows, same
 * settings: the 36-row table (its shared-trace rows need `../shared/traces`; without them
 * they are left out, saying so), the 65 further synthetic cases and the 50 held-out ones
 * (seeds 200–249, first run after the placement rule was chosen). Each row says whether
 * `spothedge` dominates `spothedge-paper` (availability at least as high, cost no higher).
 * `ROBUSTNESS_TRACES=DIR,...` adds trace folders you have (the paper's AWS2, say) at the
 * paper's settings, t2, t5, c60 and c300. Writes `bench/results/robustness.json`; about a
 * minute on 2 cores. Measures the built package (`pnpm build` first).
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import {
  hasSharedTraces,
  loadTrace,
  RunPool,
  runExperiment,
  sharedTracePath,
  syntheticTraceFromSpec,
} from '@spothedge/sim';
import type { SpotTrace } from '@spothedge/sim';
import { round, writeResult } from './results.js';

/** The synthetic layouts of the tables (`synthetic:SEED` + these settings). */
const LAYOUTS = {
  '2x2': ':regions=2:zonesPerRegion=2',
  '1x3': ':regions=1:zonesPerRegion=3',
  '5x3': ':regions=5:zonesPerRegion=3',
  harsh: ':outagesPerDay=4:outageMinutes=60:dipsPerDay=12',
  cap2: ':maxCapacity=2:diurnalAmplitude=1',
  shortdips: ':dipsPerDay=20:dipMinutes=5',
  '2x1': ':regions=2:zonesPerRegion=1:outagesPerDay=2',
  '4x2': ':regions=4:zonesPerRegion=2',
  cap3: ':maxCapacity=3:diurnalAmplitude=1',
  calm: ':outagesPerDay=0.3:dipsPerDay=1',
} as const;
type Layout = keyof typeof LAYOUTS;

/** `t2`/`t5` = target 2/5, `c60`/`c300` = cold start 60/300 s. */
const SETTINGS = {
  paper: {},
  t2: { target: 2 },
  t5: { target: 5 },
  c60: { coldStartSeconds: 60 },
  c300: { coldStartSeconds: 300 },
} as const;
type Setting = keyof typeof SETTINGS;

interface Case {
  readonly set: 'table' | 'further' | 'heldOut' | 'extra';
  /** A trace folder, or a synthetic spec. */
  readonly trace: string;
  /** Name in the results. */
  readonly label: string;
  readonly setting: Setting;
}

const cases: Case[] = [];
const synthetic = (set: Case['set'], seed: number, layout: Layout | '', setting: Setting) =>
  cases.push({
    set,
    trace: `synthetic:${seed}${layout === '' ? '' : LAYOUTS[layout]}`,
    label: `synthetic:${seed}${layout === '' ? '' : ` ${layout}`}`,
    setting,
  });
const folder = (set: Case['set'], path: string, setting: Setting) =>
  cases.push({ set, trace: path, label: basename(path), setting });

const layouts = Object.keys(LAYOUTS) as Layout[];
/** The table's seven layouts (rows 11–17), the first seven of `LAYOUTS`. */
const tableLayouts = layouts.slice(0, 7);

// The 36-row table.
const shared = hasSharedTraces ? ['aws1', 'aws3', 'gcp1'] : [];
if (!hasSharedTraces) console.error('../shared/traces not found: leaving out its 15 rows');
for (const name of shared) folder('table', sharedTracePath(name), 'paper');
for (let seed = 1; seed <= 10; seed++) synthetic('table', seed, '', 'paper');
tableLayouts.forEach((layout, index) => synthetic('table', 11 + index, layout, 'paper'));
for (const name of shared) {
  for (const setting of ['t2', 't5', 'c60', 'c300'] as const) {
    folder('table', sharedTracePath(name), setting);
  }
}
for (const seed of [3, 5]) {
  for (const setting of ['t5', 'c300'] as const) synthetic('table', seed, '', setting);
}

// The 65 further cases: seeds 100–139 over ten layouts and four settings, seeds 20–44 over
// the table's seven layouts.
const furtherSettings = ['paper', 't2', 't5', 'c300'] as const;
for (let seed = 100; seed < 140; seed++) {
  const index = seed - 100;
  synthetic('further', seed, layouts[index % 10]!, furtherSettings[Math.floor(index / 10)]!);
}
for (let seed = 20; seed < 45; seed++) {
  const index = seed - 20;
  synthetic(
    'further',
    seed,
    tableLayouts[index % tableLayouts.length]!,
    furtherSettings[Math.floor(index / tableLayouts.length) % 4]!,
  );
}

// 50 held-out cases: seeds 200–249 over the ten layouts and all five settings.
const heldOutSettings = ['paper', 't2', 't5', 'c300', 'c60'] as const;
for (let seed = 200; seed < 250; seed++) {
  const index = seed - 200;
  synthetic('heldOut', seed, layouts[index % 10]!, heldOutSettings[Math.floor(index / 10)]!);
}

// Trace folders of your own.
for (const path of (process.env.ROBUSTNESS_TRACES ?? '').split(',').filter(Boolean)) {
  for (const setting of Object.keys(SETTINGS) as Setting[]) folder('extra', path, setting);
}

const traces = new Map<string, SpotTrace>();
const traceOf = (spec: string): SpotTrace => {
  let trace = traces.get(spec);
  if (trace === undefined) {
    // 96 h synthetic traces, as the CLI builds them for 24 h windows.
    trace = syntheticTraceFromSpec(spec, { hours: 96 }) ?? loadTrace({ path: spec });
    traces.set(spec, trace);
  }
  return trace;
};

const started = performance.now();
const pool = new RunPool({ jobs: Number(process.env.SIM_BENCH_JOBS ?? availableParallelism()) });
const rows = await Promise.all(
  cases.map(async (entry) => {
    const [ours, paper] = await runExperiment({
      trace: traceOf(entry.trace),
      policies: ['spothedge', 'spothedge-paper'],
      pool,
      ...SETTINGS[entry.setting],
    });
    const availabilityDelta = ours!.availability - paper!.availability;
    const costDelta = ours!.cost - paper!.cost;
    return {
      set: entry.set,
      trace: entry.label,
      setting: entry.setting,
      availability: round(ours!.availability, 5),
      cost: round(ours!.cost, 5),
      paperAvailability: round(paper!.availability, 5),
      paperCost: round(paper!.cost, 5),
      availabilityDelta: round(availabilityDelta, 5),
      costDelta: round(costDelta, 5),
      // Exact comparison of the unrounded means (equal windows give equal sums).
      dominates: availabilityDelta >= -1e-12 && costDelta <= 1e-12,
    };
  }),
);
await pool.close();

const summary = Object.fromEntries(
  (['table', 'further', 'heldOut', 'extra'] as const)
    .map((set) => [set, rows.filter((row) => row.set === set)] as const)
    .filter(([, mine]) => mine.length > 0)
    .map(([set, mine]) => [
      set,
      {
        cases: mine.length,
        dominates: mine.filter((row) => row.dominates).length,
        cheaper: mine.filter((row) => row.costDelta <= 0).length,
      },
    ]),
);
writeResult('robustness', {
  summary,
  seconds: round((performance.now() - started) / 1000),
  losses: rows.filter((row) => !row.dominates),
  rows,
});
