/**
 * The demo: a Service with SpotHedge over six local locations whose spot capacity replays
 * a trace (synthetic by default) in compressed time, real replica processes running the
 * model server, and a Poisson load sent through `service.fetch`. It samples the fleet
 * into a simulator timeline so availability and cost are computed exactly as the
 * simulator computes them.
 */
import {
  AdaptiveSpotHedgePolicy,
  InvalidArgumentError,
  SeededRandom,
  createService,
  describeValue,
  type CapacityType,
  type EngineEventName,
  type ReplicaStatus,
} from '@spothedge/core';
import { createLocalProvider } from '@spothedge/local';
import {
  UNLIMITED_CAPACITY,
  syntheticTraceFromSpec,
  loadTrace,
  percentile,
  runMetrics,
  type ReplicaRecord,
  type SpotTrace,
  type Timeline,
} from '@spothedge/sim';

export interface DemoOptions {
  /** Wall time of the run. @default 90_000 */
  readonly durationMs?: number;
  /** `synthetic:SEED` or a trace folder (e.g. `../shared/traces/aws1`). @default 'synthetic:1' */
  readonly trace?: string;
  /** Trace seconds replayed per real second (120 = one trace hour per 30 s). @default 120 */
  readonly compression?: number;
  /** Poisson request rate through `service.fetch`, per second. @default 4 */
  readonly requestRate?: number;
  /** Ready replicas the service needs. @default 3 */
  readonly target?: number;
  /** Replica cold start (model loading). @default 2_000 */
  readonly coldStartMs?: number;
  /** Reconcile tick. @default 500 */
  readonly tickIntervalMs?: number;
  /** How often the fleet is sampled (and a frame drawn). @default 500 */
  readonly sampleMs?: number;
  /** Seeds the load and the policy. @default 1 */
  readonly seed?: number;
  /** Called with each sample, e.g. to draw the live view. */
  readonly onFrame?: (frame: DemoFrame) => void;
  /** Stops the run early (Ctrl-C); the demo still cleans up and reports. */
  readonly signal?: AbortSignal;
}

export interface DemoReplica {
  readonly id: string;
  readonly location: string;
  readonly capacityType: CapacityType;
  readonly status: ReplicaStatus;
}

/** What the live view shows at one moment. */
export interface DemoFrame {
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly trace: string;
  readonly target: number;
  readonly ready: number;
  readonly locations: readonly string[];
  readonly replicas: readonly DemoReplica[];
  /** Cost so far relative to `target` on-demand replicas (1 = all on-demand). */
  readonly cost: number;
  readonly availability: number;
  readonly requests: number;
  readonly failed: number;
  readonly latencyP50: number | null;
  readonly latencyP99: number | null;
  readonly preemptions: number;
  /** Most recent first. */
  readonly events: readonly string[];
}

export interface DemoResult {
  readonly trace: string;
  /** Share of samples (after the target was first reached) with ≥ target ready replicas. */
  readonly availability: number;
  /** Relative to `target` on-demand replicas over the same samples. */
  readonly cost: number;
  readonly requests: number;
  readonly failed: number;
  /** Seconds. */
  readonly latencyP50: number | null;
  readonly latencyP99: number | null;
  readonly preemptions: number;
  /** Replica processes still alive after the demo stopped (always 0 unless something broke). */
  readonly leakedProcesses: number;
  readonly timeline: Timeline;
  /** Latencies of successful requests, seconds. */
  readonly latencies: readonly number[];
  readonly events: readonly string[];
}

const HELD: ReadonlySet<ReplicaStatus> = new Set<ReplicaStatus>([
  'provisioning',
  'starting',
  'ready',
  'not-ready',
  'draining',
  'terminating',
]);

function check(name: string, value: number, minimum: number): number {
  if (!Number.isFinite(value) || value < minimum) {
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be a number >= ${minimum}, got ${describeValue(value)}`,
      { argument: name, value },
    );
  }
  return value;
}

/**
 * The default policy with its durations divided by `compression`, so that on the replayed
 * trace a location stays hot, and is passed over after a failure, for as much trace time as
 * it would in real time.
 */
export function compressedPolicy(seed: number, compression: number): AdaptiveSpotHedgePolicy {
  const defaults = new AdaptiveSpotHedgePolicy();
  return new AdaptiveSpotHedgePolicy({
    seed,
    riskHalfLifeMs: defaults.riskHalfLifeMs / compression,
    failureCooldownMs: defaults.failureCooldownMs / compression,
    preemptionCooldownMs: defaults.preemptionCooldownMs / compression,
    savingsReserveMs: defaults.savingsReserveMs / compression,
  });
}

/**
 * Loads `synthetic:SEED[:setting=value...]` (plain `synthetic` is seed 1) or a trace folder,
 * with locations renamed to `local/…`. Synthetic traces start from busier settings than the
 * generator's defaults, so a 90 s run shows preemptions and fallbacks.
 */
export function demoTrace(spec: string, hours: number): SpotTrace {
  const synthetic = syntheticTraceFromSpec(spec === 'synthetic' ? 'synthetic:1' : spec, {
    hours: Math.max(1, Math.ceil(hours)),
    defaults: {
      regions: 2,
      zonesPerRegion: 3,
      cloud: 'local',
      maxCapacity: 3,
      diurnalAmplitude: 1,
      outagesPerDay: 4,
      outageMinutes: 60,
      dipsPerDay: 8,
      dipMinutes: 20,
    },
  });
  if (synthetic !== undefined) return synthetic;
  const trace = loadTrace({ path: spec });
  return {
    ...trace,
    zones: trace.zones.map((zone) => ({
      ...zone,
      location: `local/${zone.location.split('/').slice(1).join('/')}`,
    })),
  };
}

/**
 * Runs the demo and resolves with its summary once every replica process is gone.
 *
 * @example
 * ```ts
 * const result = await runDemo({ durationMs: 20_000 });
 * console.log(result.availability, result.cost);
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const durationMs = check('durationMs', options.durationMs ?? 90_000, 1_000);
  const compression = check('compression', options.compression ?? 120, 1);
  const requestRate = check('requestRate', options.requestRate ?? 4, 0);
  const target = check('target', options.target ?? 3, 1);
  const coldStartMs = check('coldStartMs', options.coldStartMs ?? 2_000, 0);
  const tickIntervalMs = check('tickIntervalMs', options.tickIntervalMs ?? 500, 50);
  const sampleMs = check('sampleMs', options.sampleMs ?? 500, 50);
  const seed = options.seed ?? 1;
  const traceName = options.trace ?? 'synthetic:1';
  const trace = demoTrace(traceName, ((durationMs / 1000) * compression) / 3600 + 1);
  const locations = trace.zones.map((zone) => zone.location);
  const capacityOf = new Map(trace.zones.map((zone) => [zone.location, zone.capacity]));

  // One time origin for the trace replay, the event log and the live view.
  const startedAt = Date.now();
  const provider = createLocalProvider({
    locations,
    coldStartMs,
    replica: { tokensPerSecond: 200, concurrency: 4 },
    spotCapacity: (location, now) => {
      const capacity = capacityOf.get(location);
      if (capacity === undefined) return 0;
      const tick = Math.floor((((now - startedAt) / 1000) * compression) / trace.tickSeconds);
      const value = capacity[Math.max(0, tick) % trace.ticks]!;
      return value >= UNLIMITED_CAPACITY ? Number.POSITIVE_INFINITY : value;
    },
  });
  const service = createService({
    spec: {
      name: 'spothedge-demo',
      replicas: target,
      locations,
      instanceType: 'local-process',
      readinessProbe: {
        path: '/health',
        initialDelaySeconds: 60,
        timeoutSeconds: 1,
        periodSeconds: tickIntervalMs / 1000,
        failureThreshold: 2,
      },
    },
    providers: [provider],
    policy: compressedPolicy(seed, compression),
    tickIntervalMs,
    drainMs: 1_000,
    seed,
  });

  const events: string[] = [];
  let preemptions = 0;
  const note = (text: string) => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(5);
    events.unshift(`${seconds}s  ${text}`);
    if (events.length > 200) events.pop();
  };
  const shortLocation = (location: string) => location.split('/').slice(1).join('/');
  const watched: EngineEventName[] = [
    'replica-launch',
    'replica-ready',
    'replica-preempt',
    'replica-interrupt',
    'replica-terminate',
    'launch-fail',
    'fallback-start',
    'fallback-end',
  ];
  for (const name of watched) {
    service.on(name, (event) => {
      if (event.type === 'replica-preempt') preemptions++;
      const where = 'location' in event ? ` in ${shortLocation(event.location)}` : '';
      const kind = 'capacityType' in event ? ` ${event.capacityType}` : '';
      const reason =
        'reason' in event && typeof event.reason === 'string' ? ` (${event.reason})` : '';
      note(`${event.type}${kind}${where}${reason}`);
    });
  }

  // Timeline in samples, so the simulator's metrics apply unchanged.
  const records = new Map<string, ReplicaRecord>();
  const pids = new Set<number>();
  let samples = 0;
  let warmupSamples: number | undefined;
  const latencies: number[] = [];
  let requests = 0;
  let failed = 0;
  let inFlight = 0;

  const stopped = new AbortController();
  const onAbort = () => stopped.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => stopped.abort(), durationMs);

  const timeline = (): Timeline => ({
    ticks: samples,
    tickSeconds: sampleMs / 1000,
    coldStartTicks: warmupSamples ?? samples,
    target,
    replicas: [...records.values()],
    locations,
  });

  const sample = () => {
    const status = service.status();
    for (const pid of provider.pids()) pids.add(pid);
    const seen = new Set<string>();
    let ready = 0;
    for (const replica of status.replicas) {
      if (!HELD.has(replica.status)) continue;
      seen.add(replica.id);
      let record = records.get(replica.id);
      if (record === undefined) {
        record = {
          id: replica.id,
          location: replica.location,
          capacityType: replica.capacityType,
          launchTick: samples,
          readyTick: undefined,
          endTick: samples + 1,
          endReason: 'running',
        };
        records.set(replica.id, record);
      }
      record.endTick = samples + 1;
      if (replica.status === 'ready') {
        ready++;
        record.readyTick ??= samples;
      }
    }
    for (const record of records.values()) {
      if (record.endReason === 'running' && !seen.has(record.id) && record.endTick <= samples) {
        const final = status.replicas.find((replica) => replica.id === record.id);
        record.endReason = final?.status === 'preempted' ? 'preempted' : 'terminated';
      }
    }
    if (warmupSamples === undefined && ready >= target) warmupSamples = samples;
    samples++;
    if (options.onFrame) {
      const metrics = runMetrics(timeline());
      const sorted = [...latencies].sort((a, b) => a - b);
      options.onFrame({
        elapsedMs: Date.now() - startedAt,
        durationMs,
        trace: trace.name,
        target,
        ready,
        locations,
        replicas: status.replicas
          .filter((replica) => HELD.has(replica.status) || replica.status === 'pending')
          .map(({ id, location, capacityType, status: state }) => ({
            id,
            location,
            capacityType,
            status: state,
          })),
        cost: metrics.countedTicks > 0 ? metrics.cost : 0,
        availability: metrics.countedTicks > 0 ? metrics.availability : 0,
        requests,
        failed,
        latencyP50: percentile(sorted, 0.5),
        latencyP99: percentile(sorted, 0.99),
        preemptions,
        events: events.slice(0, 8),
      });
    }
  };

  const random = new SeededRandom(seed);
  const pending = new Set<Promise<void>>();
  const send = async () => {
    requests++;
    inFlight++;
    const begin = performance.now();
    try {
      const response = await service.fetch('/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Why hedge spot with on-demand?', max_tokens: 8 }),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.ok) latencies.push((performance.now() - begin) / 1000);
      else failed++;
    } catch {
      failed++;
    } finally {
      inFlight--;
    }
  };
  const load = async () => {
    // Requests start once the service first has a ready replica, like real clients.
    while (!stopped.signal.aborted && service.status().ready.length === 0) {
      await sleep(100, stopped.signal);
    }
    while (!stopped.signal.aborted) {
      await sleep(
        (-Math.log(1 - random.next()) / Math.max(requestRate, 1e-9)) * 1000,
        stopped.signal,
      );
      if (stopped.signal.aborted || requestRate === 0) continue;
      if (inFlight >= 64) {
        requests++;
        failed++; // the client would have given up: count it, don't pile up
        continue;
      }
      const request = send();
      pending.add(request);
      void request.finally(() => pending.delete(request));
    }
  };

  let sampler: ReturnType<typeof setInterval> | undefined;
  // The SDK's timers are unref'd (it never holds a host open); the demo is the host here
  // and must stay alive until the replicas are gone.
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    await service.start();
    note(`service started: target ${target} ready replicas over ${locations.length} locations`);
    sampler = setInterval(sample, sampleMs);
    await load();
    await Promise.allSettled(pending);
  } finally {
    clearTimeout(timer);
    if (sampler) clearInterval(sampler);
    options.signal?.removeEventListener('abort', onAbort);
    for (const pid of provider.pids()) pids.add(pid);
    await service.stop({ terminate: true }).catch(() => undefined);
    await provider.close();
  }
  const leakedProcesses = await countAlive(pids);
  clearInterval(keepAlive);
  const result = timeline();
  const metrics = runMetrics(result);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    trace: trace.name,
    availability: metrics.countedTicks > 0 ? metrics.availability : 0,
    cost: metrics.countedTicks > 0 ? metrics.cost : 0,
    requests,
    failed,
    latencyP50: percentile(sorted, 0.5),
    latencyP99: percentile(sorted, 0.99),
    preemptions,
    leakedProcesses,
    timeline: result,
    latencies,
    events: [...events].reverse(),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Replica processes still alive, after giving SIGKILLs a moment to land. */
async function countAlive(pids: ReadonlySet<number>): Promise<number> {
  const alive = () =>
    [...pids].filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    }).length;
  for (let attempt = 0; attempt < 20 && alive() > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return alive();
}
