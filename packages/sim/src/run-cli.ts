/**
 * The `spothedge-sim` command line (also `pnpm sim`). See `docs/evaluation.md`.
 *
 *     spothedge-sim --trace ../shared/traces/aws1 --policy spothedge-paper,spothedge,optimal
 *     spothedge-sim --trace synthetic:7 --workload poisson:0.15 --html report.html
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { InvalidArgumentError, SpotHedgeError, describeValue } from '@spothedge/core';
import { runExperiment } from './experiment.js';
import type { ExperimentResult } from './experiment.js';
import { renderHtmlReport } from './html-report.js';
import { RunPool } from './run-pool.js';
import { parsePolicyNames } from './policy-catalog.js';
import { ProgressBar } from './progress-bar.js';
import { formatResultsTable, resultsJson } from './results-table.js';
import { syntheticTraceFromSpec } from './synthetic-trace.js';
import { loadTrace } from './trace.js';
import type { SpotTrace, TraceValues } from './trace.js';
import { parseWorkload } from './workload.js';
import { parseZoneShuffle } from './zone-shuffle.js';

export const USAGE = `Usage: spothedge-sim --trace DIR|synthetic:SEED [options]

  --trace DIR|synthetic:SEED   trace folder (repeat or comma-separate for several);
                               synthetic:SEED[:setting=value...] sets the generator:
                               regions, zonesPerRegion, maxCapacity, diurnalAmplitude,
                               outagesPerDay, outageMinutes, outageCorrelation,
                               dipsPerDay, dipMinutes (e.g. synthetic:11:regions=2:zonesPerRegion=2)
  --values count|available     meaning of trace values (default: the folder's trace.json, else count)
  --policy a,b,...             spothedge-paper, spothedge-skypilot, spothedge, on-demand,
                               even-spread, round-robin, static-mix, optimal
                               (default: all of them)
  --target N                   ready replicas needed (default 3)
  --extra N                    N_extra of the SpotHedge policies (default 1)
  --cold-start SECONDS         launch to ready (default 120)
  --tick SECONDS               tick length (default 30)
  --hours H                    window length (default 24)
  --repeats N                  windows per policy, at the paper's random offsets (default 10)
  --seed N                     seed of offsets, placement, workload (default 0)
  --zone-shuffle artifact|seeded|none
                               zone order of each repeat (default artifact: the paper
                               artifact's orders, Python's random.shuffle reseeded with 0
                               before each repeat, compounding, from the sorted file
                               names, whatever --seed; seeded = our own shuffle, seeded
                               by --seed and the repeat; none = sorted file names). Even
                               Spread fills zones in this order: artifact reproduces its
                               paper numbers
  --jobs N                     worker threads running windows at once (default: the
                               number of CPUs; results do not depend on it)
  --workload none|paper|poisson:RATE|poisson:NxRATE|maf:PATH|bursty:RATE
                               requests for latency (default none; paper = the paper's
                               3 clients x 0.05/s, each dispatching round-robin)
  --load-balancing round-robin|least-load
                               the router's balancer in the service model (default round-robin)
  --json                       print {"results":[...]} only
  --html FILE                  write a self-contained HTML report with plots
  --help`;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

function integer(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `Expected \`--${name}\` to be an integer >= ${min}, got ${describeValue(raw)}`,
      {
        argument: name,
        value: raw,
      },
    );
  }
  return value;
}

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(
      `Expected \`--${name}\` to be a positive number, got ${describeValue(raw)}`,
      {
        argument: name,
        value: raw,
      },
    );
  }
  return value;
}

function loadTraces(
  specs: readonly string[],
  tickSeconds: number,
  hours: number,
  values?: TraceValues,
): SpotTrace[] {
  return specs
    .flatMap((spec) => spec.split(','))
    .filter((spec) => spec !== '')
    .map(
      (spec) =>
        // Four windows' worth, so repeats start at different offsets.
        syntheticTraceFromSpec(spec, { hours: hours * 4, tickSeconds }) ??
        loadTrace({ path: spec, tickSeconds, values }),
    );
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        trace: { type: 'string', multiple: true },
        values: { type: 'string' },
        policy: { type: 'string' },
        target: { type: 'string' },
        extra: { type: 'string' },
        'cold-start': { type: 'string' },
        tick: { type: 'string' },
        hours: { type: 'string' },
        repeats: { type: 'string' },
        seed: { type: 'string' },
        'zone-shuffle': { type: 'string' },
        jobs: { type: 'string' },
        workload: { type: 'string' },
        'load-balancing': { type: 'string' },
        json: { type: 'boolean' },
        html: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const flags = parsed.values;
  if (flags.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (!flags.trace || flags.trace.length === 0) {
      throw new InvalidArgumentError('Expected `--trace DIR|synthetic:SEED`', {
        argument: 'trace',
        value: undefined,
      });
    }
    if (flags.values !== undefined && flags.values !== 'count' && flags.values !== 'available') {
      throw new InvalidArgumentError(
        `Expected \`--values\` to be count or available, got ${describeValue(flags.values)}`,
        {
          argument: 'values',
          value: flags.values,
        },
      );
    }
    const loadBalancing = flags['load-balancing'] ?? 'round-robin';
    if (loadBalancing !== 'round-robin' && loadBalancing !== 'least-load') {
      throw new InvalidArgumentError(
        `Expected \`--load-balancing\` to be round-robin or least-load, got ${describeValue(loadBalancing)}`,
        { argument: 'load-balancing', value: loadBalancing },
      );
    }
    const hours = positiveNumber('hours', flags.hours, 24);
    const tickSeconds = positiveNumber('tick', flags.tick, 30);
    const policies = parsePolicyNames(
      flags.policy ??
        'on-demand,even-spread,round-robin,static-mix,spothedge-paper,spothedge-skypilot,spothedge,optimal',
    );
    const traces = loadTraces(
      flags.trace,
      tickSeconds,
      hours,
      flags.values as TraceValues | undefined,
    );
    const workload = parseWorkload(flags.workload ?? 'none');
    const repeats = integer('repeats', flags.repeats, 10, 1);
    const settings = {
      target: integer('target', flags.target, 3, 1),
      extra: integer('extra', flags.extra, 1),
      coldStartSeconds: positiveNumber('cold-start', flags['cold-start'], 120),
      hours,
      repeats,
      seed: integer('seed', flags.seed, 0),
      zoneShuffle: parseZoneShuffle(flags['zone-shuffle'] ?? 'artifact'),
    };
    const jobs = integer('jobs', flags.jobs, availableParallelism(), 1);
    const total = traces.length * policies.length * repeats;
    const bar =
      !flags.json && io.stderr.isTTY ? new ProgressBar({ stream: io.stderr, total }) : undefined;
    let done = 0;
    const rows: ExperimentResult[] = [];
    // One set of workers for every trace (each worker loads the engine once).
    const pool = jobs > 1 ? new RunPool({ jobs }) : undefined;
    const experiment = (trace: SpotTrace) =>
      runExperiment({
        trace,
        policies,
        ...settings,
        pool,
        workload,
        serviceModel: { loadBalancing },
        keepTimelines: flags.html !== undefined,
        onProgress: ({ policy }) => bar?.update(++done, `${trace.name} ${policy}`),
      });
    try {
      if (pool === undefined) {
        for (const trace of traces) rows.push(...(await experiment(trace)));
      } else {
        // Every trace's windows queue up at once, so no worker idles at the end of a trace.
        rows.push(...(await Promise.all(traces.map(experiment))).flat());
      }
    } finally {
      await pool?.close();
    }
    bar?.done();
    if (flags.html !== undefined) {
      writeFileSync(
        flags.html,
        renderHtmlReport(rows, {
          settings: `target ${settings.target}, N_extra ${settings.extra}, cold start ${settings.coldStartSeconds}s, tick ${tickSeconds}s, ${hours}h windows × ${repeats}, seed ${settings.seed}, zone shuffle ${settings.zoneShuffle}, workload ${workload?.name ?? 'none'}`,
        }),
      );
    }
    if (flags.json) io.stdout.write(`${resultsJson(rows)}\n`);
    else {
      io.stdout.write(`${formatResultsTable(rows)}\n`);
      if (flags.html !== undefined) io.stdout.write(`\nReport written to ${flags.html}\n`);
    }
    return 0;
  } catch (error) {
    if (SpotHedgeError.isInstance(error)) {
      io.stderr.write(`spothedge-sim: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
