/**
 * A seeded synthetic spot-capacity trace, for tests and the demo (the real traces cannot
 * ship with the project). Per-location capacity is a baseline minus diurnal pressure, with
 * short zone-level dips and correlated regional outages (most zones of a region go to 0
 * together).
 */
import { InvalidArgumentError, SeededRandom, describeValue, locationId } from '@spothedge/core';
import type { SpotTrace, TraceZone } from './trace.js';

export interface SyntheticTraceOptions {
  /** Same seed, same trace. @default 0 */
  readonly seed?: number | undefined;
  /** @default 3 */
  readonly regions?: number | undefined;
  /** @default 3 */
  readonly zonesPerRegion?: number | undefined;
  /** Length of the trace. @default 48 */
  readonly hours?: number | undefined;
  /** @default 30 */
  readonly tickSeconds?: number | undefined;
  /** Capacity of a zone with no pressure. @default 4 */
  readonly maxCapacity?: number | undefined;
  /**
   * Peak diurnal pressure: at the busiest hour of a region's day this many fewer replicas
   * fit (regions have different phases, like time zones). @default 2
   */
  readonly diurnalAmplitude?: number | undefined;
  /** Mean regional outages per region per day. @default 1 */
  readonly outagesPerDay?: number | undefined;
  /** Mean outage length in minutes (exponential). @default 90 */
  readonly outageMinutes?: number | undefined;
  /** Chance that a zone of a region in outage loses all capacity. @default 0.8 */
  readonly outageCorrelation?: number | undefined;
  /** Mean zone-level capacity dips per zone per day. @default 4 */
  readonly dipsPerDay?: number | undefined;
  /** Mean dip length in minutes (exponential). @default 20 */
  readonly dipMinutes?: number | undefined;
  /** Cloud part of location ids. @default 'synthetic' */
  readonly cloud?: string | undefined;
  /** @default `synthetic:<seed>` */
  readonly name?: string | undefined;
}

function positive(name: string, value: number, integer: boolean): number {
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be ${integer ? 'an integer' : 'a number'} >= 0, got ${describeValue(value)}`,
      { argument: name, value },
    );
  }
  return value;
}

/** Exponential draw with the given mean. */
function exponential(random: SeededRandom, mean: number): number {
  return -Math.log(1 - random.next()) * mean;
}

/**
 * Generates a trace; the same options always give the same trace.
 *
 * @example
 * ```ts
 * const trace = generateSyntheticTrace({ seed: 7, hours: 24 });
 * ```
 */
export function generateSyntheticTrace(options: SyntheticTraceOptions = {}): SpotTrace {
  const seed = options.seed ?? 0;
  const regions = positive('regions', options.regions ?? 3, true);
  const zonesPerRegion = positive('zonesPerRegion', options.zonesPerRegion ?? 3, true);
  const hours = positive('hours', options.hours ?? 48, false);
  const tickSeconds = positive('tickSeconds', options.tickSeconds ?? 30, false);
  const maxCapacity = positive('maxCapacity', options.maxCapacity ?? 4, true);
  const amplitude = positive('diurnalAmplitude', options.diurnalAmplitude ?? 2, false);
  const outagesPerDay = positive('outagesPerDay', options.outagesPerDay ?? 1, false);
  const outageMinutes = positive('outageMinutes', options.outageMinutes ?? 90, false);
  const correlation = positive('outageCorrelation', options.outageCorrelation ?? 0.8, false);
  const dipsPerDay = positive('dipsPerDay', options.dipsPerDay ?? 4, false);
  const dipMinutes = positive('dipMinutes', options.dipMinutes ?? 20, false);
  if (tickSeconds === 0 || regions === 0 || zonesPerRegion === 0) {
    throw new InvalidArgumentError('Expected `tickSeconds`, `regions` and `zonesPerRegion` > 0', {
      argument: 'tickSeconds',
      value: tickSeconds,
    });
  }
  const cloud = options.cloud ?? 'synthetic';
  const ticks = Math.floor((hours * 3600) / tickSeconds);
  const random = new SeededRandom(seed);
  const ticksPerMinute = 60 / tickSeconds;
  const zones: TraceZone[] = [];
  for (let region = 0; region < regions; region++) {
    const regionName = `region-${region + 1}`;
    const phase = random.next();
    // Regional outages: a Poisson process of intervals, shared by the region's zones.
    const outages: Array<[number, number]> = [];
    const outageRatePerTick = outagesPerDay / (86_400 / tickSeconds);
    for (let tick = 0; outageRatePerTick > 0 && tick < ticks;) {
      tick += Math.ceil(exponential(random, 1 / outageRatePerTick));
      const length = Math.max(1, Math.round(exponential(random, outageMinutes * ticksPerMinute)));
      if (tick < ticks) outages.push([tick, Math.min(ticks, tick + length)]);
      tick += length;
    }
    for (let zone = 0; zone < zonesPerRegion; zone++) {
      const zoneName = `${regionName}${String.fromCharCode(97 + zone)}`;
      const base = Math.max(0, maxCapacity - random.nextInt(2));
      const capacity = new Int32Array(ticks);
      for (let tick = 0; tick < ticks; tick++) {
        const dayFraction = (tick * tickSeconds) / 86_400 + phase;
        const pressure = (amplitude * (1 + Math.sin(2 * Math.PI * dayFraction))) / 2;
        capacity[tick] = Math.max(0, Math.round(base - pressure));
      }
      for (const [start, end] of outages) {
        if (random.next() >= correlation) continue;
        capacity.fill(0, start, end);
      }
      const dipRatePerTick = dipsPerDay / (86_400 / tickSeconds);
      for (let tick = 0; dipRatePerTick > 0 && tick < ticks;) {
        tick += Math.ceil(exponential(random, 1 / dipRatePerTick));
        const length = Math.max(1, Math.round(exponential(random, dipMinutes * ticksPerMinute)));
        const drop = 1 + random.nextInt(maxCapacity);
        for (let at = tick; at < Math.min(ticks, tick + length); at++) {
          capacity[at] = Math.max(0, capacity[at]! - drop);
        }
        tick += length;
      }
      zones.push({
        location: locationId(cloud, regionName, zoneName),
        source: `synthetic seed ${seed}`,
        capacity,
      });
    }
  }
  return { name: options.name ?? `synthetic:${seed}`, values: 'count', tickSeconds, ticks, zones };
}

/** The generator settings a `synthetic:` spec may set (hours and tick come from the caller). */
export const SYNTHETIC_SPEC_SETTINGS = [
  'regions',
  'zonesPerRegion',
  'maxCapacity',
  'diurnalAmplitude',
  'outagesPerDay',
  'outageMinutes',
  'outageCorrelation',
  'dipsPerDay',
  'dipMinutes',
] as const;

type SyntheticSpecSetting = (typeof SYNTHETIC_SPEC_SETTINGS)[number];

/**
 * The trace a spec `synthetic:SEED[:setting=value...]` names (as `spothedge-sim --trace`
 * takes it), or `undefined` when `spec` does not start with `synthetic:`. Settings are
 * {@link SyntheticTraceOptions} fields from {@link SYNTHETIC_SPEC_SETTINGS}; the trace is
 * named after the spec.
 *
 * @example
 * ```ts
 * // two regions of two zones, capacity 2
 * syntheticTraceFromSpec('synthetic:11:regions=2:zonesPerRegion=2:maxCapacity=2', { hours: 96 });
 * ```
 */
export function syntheticTraceFromSpec(
  spec: string,
  options: {
    readonly hours?: number | undefined;
    readonly tickSeconds?: number | undefined;
    /** Generator options the spec's settings start from (the generator's own defaults else). */
    readonly defaults?: SyntheticTraceOptions | undefined;
  } = {},
): SpotTrace | undefined {
  if (!spec.startsWith('synthetic:')) return undefined;
  const [seed = '', ...pairs] = spec.slice('synthetic:'.length).split(':');
  if (!/^[0-9]+$/.test(seed)) {
    throw new InvalidArgumentError(
      `Expected a trace like synthetic:SEED[:setting=value...], got ${describeValue(spec)}`,
      { argument: 'trace', value: spec },
    );
  }
  const settings: Partial<Record<SyntheticSpecSetting, number>> = {};
  for (const pair of pairs) {
    const [name = '', text, ...rest] = pair.split('=');
    const setting = SYNTHETIC_SPEC_SETTINGS.find((known) => known === name);
    if (setting === undefined || text === undefined || rest.length > 0) {
      throw new InvalidArgumentError(
        `Expected each setting of ${describeValue(spec)} to be name=value with a name among ${SYNTHETIC_SPEC_SETTINGS.join(', ')}, got ${describeValue(pair)}`,
        { argument: 'trace', value: spec },
      );
    }
    const value = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) {
      throw new InvalidArgumentError(
        `Expected \`${setting}\` in ${describeValue(spec)} to be a number, got ${describeValue(text)}`,
        { argument: setting, value: text },
      );
    }
    settings[setting] = value;
  }
  return generateSyntheticTrace({
    ...options.defaults,
    ...settings,
    seed: Number(seed),
    hours: options.hours,
    tickSeconds: options.tickSeconds,
    name: spec,
  });
}
