/**
 * Request workloads: when requests arrive during a simulated window. Each workload draws
 * arrival times (seconds from the window start, sorted) from its own seeded generator.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, SeededRandom, describeValue } from '@spothedge/core';

export interface ArrivalOptions {
  /** Window length in seconds. */
  readonly durationSeconds: number;
  /** Where the window starts in the workload's own timeline (seconds); used by traces. */
  readonly startSeconds?: number | undefined;
  readonly seed: number;
}

/** A source of request arrivals. */
export interface Workload {
  /** For reports, e.g. `poisson:0.15`. */
  readonly name: string;
  /** Sorted arrival times in seconds from the window start. */
  arrivals(options: ArrivalOptions): Float64Array;
  /**
   * The same arrivals tagged with the client that sent each (multi-client workloads), so
   * each client can dispatch with its own balancer, as the paper's latency model does.
   */
  arrivalsByClient?(options: ArrivalOptions): { times: Float64Array; clients: Int32Array };
}

function exponential(random: SeededRandom, mean: number): number {
  return -Math.log(1 - random.next()) * mean;
}

function requirePositive(argument: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(
      `Expected \`${argument}\` to be a positive number, got ${describeValue(value)}`,
      { argument, value },
    );
  }
}

export interface PoissonWorkloadOptions {
  /** Requests per second of each client. */
  readonly rate: number;
  /** Independent Poisson clients (the paper uses 3 at 0.05 requests/s). @default 1 */
  readonly clients?: number | undefined;
  /**
   * Reproduce the paper artifact's seeding quirk: every client after the first repeats the
   * second client's arrival times (they share a seed), which makes requests come in pairs.
   * @default false
   */
  readonly artifactSeeding?: boolean | undefined;
}

/**
 * Poisson arrivals: `clients` independent streams of `rate` requests/s each.
 *
 * @example
 * ```ts
 * const paper = poissonWorkload({ rate: 0.05, clients: 3 });
 * ```
 */
export function poissonWorkload(options: PoissonWorkloadOptions): Workload {
  requirePositive('rate', options.rate);
  const clients = options.clients ?? 1;
  requirePositive('clients', clients);
  const byClient = ({ durationSeconds, seed }: ArrivalOptions) => {
    const random = new SeededRandom(seed ^ 0x5eed);
    const tagged: Array<[number, number]> = [];
    let previous: number[] = [];
    for (let client = 0; client < clients; client++) {
      if (options.artifactSeeding && client >= 2) {
        for (const at of previous) tagged.push([at, client]);
        continue;
      }
      previous = [];
      for (let at = exponential(random, 1 / options.rate); at < durationSeconds;) {
        tagged.push([at, client]);
        previous.push(at);
        at += exponential(random, 1 / options.rate);
      }
    }
    tagged.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return {
      times: Float64Array.from(tagged, ([at]) => at),
      clients: Int32Array.from(tagged, ([, client]) => client),
    };
  };
  return {
    name: options.artifactSeeding
      ? 'paper'
      : clients === 1
        ? `poisson:${options.rate}`
        : `poisson:${clients}x${options.rate}`,
    arrivals: (arrivalOptions) => byClient(arrivalOptions).times,
    arrivalsByClient: byClient,
  };
}

/** Parses a per-minute count CSV (`Time (min),Requests`); errors name the line. */
export function parsePerMinuteCounts(text: string, source = 'workload'): Int32Array {
  const counts: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    const fields = line.split(',');
    const value = Number(fields[1]);
    if (fields.length < 2 || !Number.isInteger(value) || value < 0) {
      if (counts.length === 0 && index === 0) continue; // header
      throw new InvalidArgumentError(
        `Expected line ${index + 1} of ${source} to be "minute,count" with an integer count >= 0, got ${describeValue(line)}`,
        { argument: `${source}:${index + 1}`, value: line },
      );
    }
    counts.push(value);
  }
  if (counts.length === 0) {
    throw new InvalidArgumentError(`Expected ${source} to hold per-minute counts, found none`, {
      argument: 'path',
      value: source,
    });
  }
  return Int32Array.from(counts);
}

export interface PerMinuteWorkloadOptions {
  /** Requests per minute; the window wraps around at the end. */
  readonly counts: Int32Array | readonly number[];
  /** Multiplies every count (to scale a trace to a service). @default 1 */
  readonly scale?: number | undefined;
  /** @default 'maf' */
  readonly name?: string | undefined;
}

/**
 * Arrivals from per-minute request counts (the Azure Functions MAF trace): each minute's
 * requests land uniformly at random within that minute.
 */
export function perMinuteWorkload(options: PerMinuteWorkloadOptions): Workload {
  const counts = options.counts;
  const scale = options.scale ?? 1;
  requirePositive('scale', scale);
  if (counts.length === 0) {
    throw new InvalidArgumentError('Expected `counts` to be non-empty', {
      argument: 'counts',
      value: counts,
    });
  }
  return {
    name: options.name ?? 'maf',
    arrivals({ durationSeconds, startSeconds = 0, seed }) {
      const random = new SeededRandom(seed ^ 0x3af);
      const times: number[] = [];
      const firstMinute = Math.floor(startSeconds / 60);
      const minutes = Math.ceil(durationSeconds / 60);
      for (let minute = 0; minute < minutes; minute++) {
        const raw = counts[(firstMinute + minute) % counts.length]! * scale;
        // Fractional scaled counts: the remainder becomes one more request with that chance.
        const whole = Math.floor(raw) + (random.next() < raw - Math.floor(raw) ? 1 : 0);
        for (let request = 0; request < whole; request++) {
          const at = (minute + random.next()) * 60;
          if (at < durationSeconds) times.push(at);
        }
      }
      return Float64Array.from(times).sort();
    },
  };
}

/** Reads a MAF-style CSV file into a workload. */
export function mafWorkload(options: { path: string; scale?: number | undefined }): Workload {
  const counts = parsePerMinuteCounts(readFileSync(options.path, 'utf8'), options.path);
  return perMinuteWorkload({ counts, scale: options.scale, name: 'maf' });
}

export interface BurstyWorkloadOptions {
  /** Requests/s outside bursts. */
  readonly rate: number;
  /** Rate multiplier inside a burst. @default 10 */
  readonly burstFactor?: number | undefined;
  /** Mean seconds between bursts (exponential). @default 1800 */
  readonly meanGapSeconds?: number | undefined;
  /** Mean burst length in seconds (exponential). @default 120 */
  readonly meanBurstSeconds?: number | undefined;
}

/** A two-state (calm/burst) Markov-modulated Poisson process. */
export function burstyWorkload(options: BurstyWorkloadOptions): Workload {
  requirePositive('rate', options.rate);
  const factor = options.burstFactor ?? 10;
  const meanGap = options.meanGapSeconds ?? 1800;
  const meanBurst = options.meanBurstSeconds ?? 120;
  requirePositive('burstFactor', factor);
  requirePositive('meanGapSeconds', meanGap);
  requirePositive('meanBurstSeconds', meanBurst);
  return {
    name: `bursty:${options.rate}`,
    arrivals({ durationSeconds, seed }) {
      const random = new SeededRandom(seed ^ 0xb125);
      const times: number[] = [];
      let burst = false;
      for (let start = 0; start < durationSeconds; burst = !burst) {
        const end = Math.min(
          durationSeconds,
          start + exponential(random, burst ? meanBurst : meanGap),
        );
        const rate = burst ? options.rate * factor : options.rate;
        for (
          let at = start + exponential(random, 1 / rate);
          at < end;
          at += exponential(random, 1 / rate)
        ) {
          times.push(at);
        }
        start = end;
      }
      return Float64Array.from(times);
    },
  };
}

/**
 * Parses a CLI workload spec: `none`, `poisson:RATE` (one stream; `poisson:3x0.05` for
 * three clients), `paper` (3 × 0.05 with the artifact's shared-seed clients), `maf:PATH`,
 * `bursty:RATE`.
 */
export function parseWorkload(spec: string): Workload | undefined {
  if (spec === 'none' || spec === '') return undefined;
  // The paper's latency workload, quirk included: 3 clients × 0.05 requests/s.
  if (spec === 'paper') return poissonWorkload({ rate: 0.05, clients: 3, artifactSeeding: true });
  const [kind, ...rest] = spec.split(':');
  const argument = rest.join(':');
  switch (kind) {
    case 'poisson': {
      const match = /^(?:(\d+)x)?([0-9.eE+-]+)$/.exec(argument);
      if (match) {
        return poissonWorkload({
          rate: Number(match[2]),
          clients: match[1] ? Number(match[1]) : 1,
        });
      }
      break;
    }
    case 'maf':
      if (argument !== '') return mafWorkload({ path: argument });
      break;
    case 'bursty':
      if (argument !== '') return burstyWorkload({ rate: Number(argument) });
      break;
  }
  throw new InvalidArgumentError(
    `Expected \`--workload\` to be none, poisson:RATE, poisson:NxRATE, maf:PATH or bursty:RATE, got ${describeValue(spec)}`,
    { argument: 'workload', value: spec },
  );
}
