/** Helpers shared by the benchmarks: timing statistics and writing `bench/results/*.json`. */
import { mkdirSync, writeFileSync } from 'node:fs';

/** Median and 99th percentile of a list of samples. */
export function summarize(samples: readonly number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: round(at(0.5)), p99: round(at(0.99)) };
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Writes `bench/results/NAME.json` and prints it. */
export function writeResult(name: string, result: unknown): void {
  const directory = new URL('./results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const text = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(new URL(`${name}.json`, directory), text);
  process.stdout.write(text);
}
