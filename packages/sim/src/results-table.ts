/** The plain-text results table the CLI prints. */
import type { ExperimentResult } from './experiment.js';

function fixed(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits);
}

/**
 * Formats rows as an aligned table: availability mean / min, cost relative to `target`
 * on-demand replicas, latency P50 / P90 / P99 in seconds, failure rate, run time.
 */
export function formatResultsTable(rows: readonly ExperimentResult[]): string {
  const header = [
    'trace',
    'policy',
    'availability (mean/min)',
    'cost',
    'P50/P90/P99 (s)',
    'failed',
    'time',
  ];
  const lines = rows.map((row) => [
    row.trace,
    row.policy,
    `${fixed(row.availability, 4)} / ${fixed(row.availabilityMin, 4)}`,
    fixed(row.cost, 3),
    row.latencyP50 === null
      ? '-'
      : `${fixed(row.latencyP50, 1)} / ${fixed(row.latencyP90, 1)} / ${fixed(row.latencyP99, 1)}`,
    row.failureRate === null ? '-' : `${(row.failureRate * 100).toFixed(2)}%`,
    `${(row.runtimeMs / 1000).toFixed(1)}s`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]!.length)),
  );
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...lines.map(render),
  ].join('\n');
}

/** The `--json` document: exactly the agreed fields, latency `null` without a workload. */
export function resultsJson(rows: readonly ExperimentResult[]): string {
  return JSON.stringify({
    results: rows.map((row) => ({
      trace: row.trace,
      policy: row.policy,
      repeats: row.repeats,
      availability: row.availability,
      availabilityMin: row.availabilityMin,
      cost: row.cost,
      latencyP50: row.latencyP50,
      latencyP90: row.latencyP90,
      latencyP99: row.latencyP99,
      failureRate: row.failureRate,
      runtimeMs: row.runtimeMs,
    })),
  });
}
