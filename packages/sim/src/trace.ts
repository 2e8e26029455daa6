/**
 * Spot-capacity traces: the public format (one JSON file per zone,
 * `{"metadata":{"gap_seconds":G},"data":[...]}`) loaded into per-tick capacity arrays.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InvalidArgumentError, describeValue, locationId } from '@spothedge/core';

/**
 * What a trace value means.
 * - `count`: how many spot replicas the zone can hold at that point.
 * - `available`: `1` = spot obtainable with no count limit, `0` = none (1-node probes).
 */
export type TraceValues = 'count' | 'available';

/** Capacity that stands for "no limit" (`available` traces); fits an `Int32Array`. */
export const UNLIMITED_CAPACITY = 1_000_000_000;

/** One zone of a trace, resampled to ticks. */
export interface TraceZone {
  /** Location id, e.g. `aws/us-east-1/us-east-1f`. */
  readonly location: string;
  /** Where it came from (file name), for messages and reports. */
  readonly source: string;
  /** Spot replicas the zone can hold at each tick ({@link UNLIMITED_CAPACITY} for no limit). */
  readonly capacity: Int32Array;
}

/** A trace resampled to a fixed tick: every zone has exactly `ticks` values. */
export interface SpotTrace {
  /** Short name for reports, e.g. `aws1`. */
  readonly name: string;
  readonly values: TraceValues;
  /** Tick length in seconds. */
  readonly tickSeconds: number;
  /** Number of ticks (the common span of all zones). */
  readonly ticks: number;
  readonly zones: readonly TraceZone[];
}

export interface LoadTraceOptions {
  /** A folder holding one `<zone>_<gpu>_<count>.json` file per zone (and maybe `trace.json`). */
  readonly path: string;
  /**
   * Meaning of the values. Overrides the folder's `trace.json` manifest.
   * @default the manifest's `values`, else `count`
   */
  readonly values?: TraceValues | undefined;
  /** @default 30 */
  readonly tickSeconds?: number | undefined;
  /** @default the folder name */
  readonly name?: string | undefined;
  /**
   * Cloud part of location ids.
   * @default guessed from the zone name: `us-east-1f` → `aws`, `us-east1-b` → `gcp`
   */
  readonly cloud?: string | undefined;
}

interface RawZone {
  readonly file: string;
  readonly gapSeconds: number;
  readonly data: readonly number[];
}

function invalid(argument: string, value: unknown, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { argument, value });
}

/** Reads the manifest `trace.json` of a trace folder, if there is one. */
export function readTraceManifest(path: string): { values?: TraceValues } | undefined {
  const file = join(path, 'trace.json');
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`Expected ${file} to be JSON: ${(error as Error).message}`, {
      argument: 'trace.json',
      value: file,
      cause: error,
    });
  }
  const values = (parsed as { values?: unknown } | null)?.values;
  if (values === undefined) return {};
  if (values !== 'count' && values !== 'available') {
    throw invalid(
      'trace.json values',
      values,
      `Expected \`values\` in ${file} to be "count" or "available", got ${describeValue(values)}`,
    );
  }
  return { values };
}

function readZone(file: string): RawZone {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError(
      `Expected trace file ${file} to be JSON: ${(error as Error).message}`,
      { argument: 'trace file', value: file, cause: error },
    );
  }
  const record = parsed as { metadata?: { gap_seconds?: unknown }; data?: unknown } | null;
  const gap = record?.metadata?.gap_seconds;
  if (typeof gap !== 'number' || !Number.isFinite(gap) || gap <= 0) {
    throw invalid(
      'metadata.gap_seconds',
      gap,
      `Expected \`metadata.gap_seconds\` in ${file} to be a positive number, got ${describeValue(gap)}`,
    );
  }
  const data = record?.data;
  if (!Array.isArray(data) || data.length === 0) {
    throw invalid(
      'data',
      data,
      `Expected \`data\` in ${file} to be a non-empty array, got ${describeValue(data)}`,
    );
  }
  for (let index = 0; index < data.length; index++) {
    const value: unknown = data[index];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw invalid(
        `data[${index}]`,
        value,
        `Expected \`data[${index}]\` in ${file} to be an integer >= 0, got ${describeValue(value)}`,
      );
    }
  }
  return { file, gapSeconds: gap, data: data as number[] };
}

/** Splits a zone name into region and zone: `us-east-1f` and `us-central1-b` styles. */
export function zoneLocation(zone: string, cloud?: string): string {
  const gcpStyle = /^(.*\d)-([a-z])$/.exec(zone);
  if (gcpStyle) return locationId(cloud ?? 'gcp', gcpStyle[1]!, zone);
  const awsStyle = /^(.*\d)([a-z])$/.exec(zone);
  if (awsStyle) return locationId(cloud ?? 'aws', awsStyle[1]!, zone);
  return locationId(cloud ?? 'trace', zone);
}

/**
 * Resamples one zone's points (`gapSeconds` apart) to `ticks` ticks of `tickSeconds`: tick
 * `k` takes the point covering time `k × tickSeconds`. For a gap that is a multiple of the
 * tick this is the paper simulator's "repeat each point gap/tick times".
 */
function resample(
  raw: RawZone,
  ticks: number,
  tickSeconds: number,
  values: TraceValues,
): Int32Array {
  const capacity = new Int32Array(ticks);
  for (let tick = 0; tick < ticks; tick++) {
    const point = Math.floor((tick * tickSeconds) / raw.gapSeconds);
    const value = raw.data[point]!;
    capacity[tick] =
      values === 'available'
        ? value > 0
          ? UNLIMITED_CAPACITY
          : 0
        : Math.min(value, UNLIMITED_CAPACITY);
  }
  return capacity;
}

/**
 * Loads a trace folder: every `*.json` file but `trace.json` is one zone. Zones are sorted
 * by file name; all are cut to their common span.
 *
 * @example
 * ```ts
 * const trace = loadTrace({ path: '../shared/traces/aws1' });
 * trace.zones[0].capacity[0]; // spot replicas zone 0 holds at tick 0
 * ```
 */
export function loadTrace(options: LoadTraceOptions): SpotTrace {
  const tickSeconds = options.tickSeconds ?? 30;
  if (!Number.isFinite(tickSeconds) || tickSeconds <= 0) {
    throw invalid(
      'tickSeconds',
      tickSeconds,
      `Expected \`tickSeconds\` to be a positive number, got ${describeValue(tickSeconds)}`,
    );
  }
  const path = options.path;
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw invalid(
      'path',
      path,
      `Expected \`path\` to be a trace folder, got ${describeValue(path)}`,
    );
  }
  if (
    options.values !== undefined &&
    options.values !== 'count' &&
    options.values !== 'available'
  ) {
    throw invalid(
      'values',
      options.values,
      `Expected \`values\` to be "count" or "available", got ${describeValue(options.values)}`,
    );
  }
  const values = options.values ?? readTraceManifest(path)?.values ?? 'count';
  const files = readdirSync(path)
    .filter((file) => file.endsWith('.json') && file !== 'trace.json')
    .sort();
  if (files.length === 0) {
    throw invalid(
      'path',
      path,
      `Expected trace folder ${path} to hold zone files (*.json), found none`,
    );
  }
  const raws = files.map((file) => readZone(join(path, file)));
  const spanSeconds = Math.min(...raws.map((raw) => raw.data.length * raw.gapSeconds));
  const ticks = Math.floor(spanSeconds / tickSeconds);
  const zones = raws.map((raw) => {
    const zoneName = basename(raw.file, '.json').split('_')[0]!;
    return {
      location: zoneLocation(zoneName, options.cloud),
      source: basename(raw.file),
      capacity: resample(raw, ticks, tickSeconds, values),
    };
  });
  const seen = new Set<string>();
  for (const zone of zones) {
    if (seen.has(zone.location)) {
      throw invalid('path', path, `Two files of ${path} name the same zone ${zone.location}`);
    }
    seen.add(zone.location);
  }
  return { name: options.name ?? basename(path), values, tickSeconds, ticks, zones };
}

/** The window `[start, start + ticks)` of a trace (throws if it does not fit). */
export function sliceTrace(trace: SpotTrace, start: number, ticks: number): SpotTrace {
  if (!Number.isInteger(start) || start < 0 || !Number.isInteger(ticks) || ticks <= 0) {
    throw invalid(
      'start',
      start,
      `Expected a window of whole ticks, got start ${start}, ticks ${ticks}`,
    );
  }
  if (start + ticks > trace.ticks) {
    throw invalid(
      'ticks',
      ticks,
      `Expected the window ${start}+${ticks} to fit in trace ${trace.name} of ${trace.ticks} ticks`,
    );
  }
  return {
    ...trace,
    ticks,
    zones: trace.zones.map((zone) => ({
      ...zone,
      capacity: zone.capacity.subarray(start, start + ticks),
    })),
  };
}
