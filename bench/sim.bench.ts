/**
 * `pnpm bench --filter sim`: wall time of the full grid — 3 shared traces × 7 policies ×
 * 10 repeats × 24 h windows, without a workload and with the paper's Poisson workload —
 * and of the omniscient optimum for one 24 h window per trace. Targets (issue 4): ≤ 10 s,
 * ≤ 60 s, ≤ 30 s. Needs `../shared/traces` beside the repository; without it, runs the
 * same grid on three synthetic traces and says so. Windows run on one worker thread per CPU
 * (`SIM_BENCH_JOBS` to change), as the CLI does by default. Measures the built package
 * (`pnpm build` first; scripts/setup.sh does).
 */
import { availableParallelism, loadavg } from 'node:os';
import {
  generateSyntheticTrace,
  hasSharedTraces,
  loadTrace,
  poissonWorkload,
  RunPool,
  runExperiment,
  sharedTracePath,
  sliceTrace,
  solveOptimum,
  windowOffsets,
} from '@spothedge/sim';
import type { ExperimentResult, PolicyName, SpotTrace } from '@spothedge/sim';
import { round, writeResult } from './results.js';

const policies: PolicyName[] = [
  'on-demand',
  'even-spread',
  'round-robin',
  'static-mix',
  'spothedge-paper',
  'spothedge-skypilot',
  'spothedge',
];
const repeats = Number(process.env.SIM_BENCH_REPEATS ?? 10);
const jobs = Number(process.env.SIM_BENCH_JOBS ?? availableParallelism());
const loadBefore = loadavg()[0]!;
const traces: SpotTrace[] = hasSharedTraces
  ? ['aws1', 'aws3', 'gcp1'].map((name) => loadTrace({ path: sharedTracePath(name) }))
  : [1, 2, 3].map((seed) => generateSyntheticTrace({ seed, hours: 96 }));
if (!hasSharedTraces)
  console.error('../shared/traces not found: benchmarking synthetic traces instead');

async function grid(workload: boolean): Promise<{ seconds: number; rows: ExperimentResult[] }> {
  const started = performance.now();
  const rows: ExperimentResult[] = [];
  // One set of workers for the whole grid, as the CLI does (its start-up is timed).
  const pool = jobs > 1 ? new RunPool({ jobs }) : undefined;
  try {
    // Every trace's windows queue up at once, so no worker idles at the end of a trace.
    const perTrace = await Promise.all(
      traces.map((trace) =>
        runExperiment({
          trace,
          policies,
          repeats,
          pool,
          workload: workload ? poissonWorkload({ rate: 0.05, clients: 3 }) : undefined,
        }),
      ),
    );
    rows.push(...perTrace.flat());
  } finally {
    await pool?.close();
  }
  return { seconds: (performance.now() - started) / 1000, rows };
}

const plain = await grid(false);
const withWorkload = await grid(true);
const optimum: Record<string, number> = {};
for (const trace of traces) {
  const [offset] = windowOffsets({ traceTicks: trace.ticks, windowTicks: 2880, repeats: 1 });
  const result = await solveOptimum({ trace: sliceTrace(trace, offset!, 2880) });
  optimum[trace.name] = round(result.solveMs / 1000);
}
writeResult('sim', {
  traces: traces.map((trace) => trace.name),
  policies,
  repeats,
  hours: 24,
  jobs,
  gridSeconds: round(plain.seconds),
  gridTargetSeconds: 10,
  gridWithPoissonSeconds: round(withWorkload.seconds),
  gridWithPoissonTargetSeconds: 60,
  optimumSecondsPerWindow: optimum,
  optimumTargetSeconds: 30,
  runsPerSecond: round((traces.length * policies.length * repeats) / plain.seconds),
  results: plain.rows.map(({ trace, policy, availability, availabilityMin, cost, runtimeMs }) => ({
    trace,
    policy,
    availability: round(availability, 4),
    availabilityMin: round(availabilityMin, 4),
    cost: round(cost, 3),
    runtimeMs,
  })),
  machine: {
    cpus: availableParallelism(),
    loadAverageBefore: round(loadBefore),
    loadAverageAfter: round(loadavg()[0]!),
  },
});
