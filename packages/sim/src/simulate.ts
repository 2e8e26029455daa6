/**
 * One simulated run: the real `ReplicaManager` with a policy, on a {@link TraceProvider},
 * under a {@link VirtualClock}. Each tick the clock moves to `tick × tickSeconds`, the
 * manager reconciles once (`reconcile()`, then `idle()` so its launches and terminations
 * finish within the tick), and the cloud's answer is recorded per replica. A replica
 * launched at tick `t` serves from tick `t + coldStart` (our prober asks the provider
 * whether the instance has been up that long).
 */
import { MemoryStateStore, ReplicaManager, SeededRandom } from '@spothedge/core';
import type { Policy, ReplicaManagerOptions } from '@spothedge/core';
import { TraceProvider } from './trace-provider.js';
import type { SpotTrace } from './trace.js';
import { sliceTrace } from './trace.js';
import type { ReplicaRecord, Timeline } from './timeline.js';
import { VirtualClock } from './virtual-clock.js';

export interface SimulateRunOptions {
  /** The whole trace; the run covers `[offset, offset + ticks)`. */
  readonly trace: SpotTrace;
  readonly policy: Policy;
  /** First trace tick of the window. @default 0 */
  readonly offset?: number | undefined;
  /** Window length in ticks. @default the rest of the trace */
  readonly ticks?: number | undefined;
  /** Ready replicas needed. @default 3 */
  readonly target?: number | undefined;
  /** Cold start in seconds (rounded up to whole ticks). @default 120 */
  readonly coldStartSeconds?: number | undefined;
  /** @default 1 */
  readonly spotPrice?: number | undefined;
  /** @default 3 */
  readonly onDemandPrice?: number | undefined;
  /**
   * Shuffle the order in which locations are offered (the paper's simulator shuffles its
   * zones every repeat; order matters to order-based baselines). `undefined` keeps the
   * trace order.
   */
  readonly shuffleSeed?: number | undefined;
  /**
   * Explicit order of the locations (ids or zone names, e.g. `us-east-1a`); wins over
   * `shuffleSeed`. Locations not listed keep their trace order after the listed ones.
   */
  readonly zoneOrder?: readonly string[] | undefined;
  /** Extra `ReplicaManager` options (e.g. `maxReplicas`); the simulator's own win. */
  readonly manager?: Partial<ReplicaManagerOptions> | undefined;
}

/**
 * Runs one policy over one trace window with the real engine.
 *
 * @example
 * ```ts
 * const timeline = await simulateRun({ trace, policy: SpotHedgePolicy.paper(), offset: 2732, ticks: 2880 });
 * runMetrics(timeline); // { availability, cost }
 * ```
 */
export async function simulateRun(options: SimulateRunOptions): Promise<Timeline> {
  const offset = options.offset ?? 0;
  const ticks = options.ticks ?? options.trace.ticks - offset;
  let window = sliceTrace(options.trace, offset, ticks);
  if (options.shuffleSeed !== undefined) {
    const random = new SeededRandom(options.shuffleSeed);
    const zones = [...window.zones];
    for (let index = zones.length - 1; index > 0; index--) {
      const other = random.nextInt(index + 1);
      [zones[index], zones[other]] = [zones[other]!, zones[index]!];
    }
    window = { ...window, zones };
  }
  if (options.zoneOrder !== undefined) {
    const rank = (location: string) => {
      const zone = location.split('/').pop()!;
      const index = options.zoneOrder!.findIndex((entry) => entry === location || entry === zone);
      return index < 0 ? Number.MAX_SAFE_INTEGER : index;
    };
    window = {
      ...window,
      zones: [...window.zones].sort((a, b) => rank(a.location) - rank(b.location)),
    };
  }
  const tickSeconds = window.tickSeconds;
  const tickMs = tickSeconds * 1000;
  const coldStartSeconds = options.coldStartSeconds ?? 120;
  const coldStartTicks = Math.ceil(coldStartSeconds / tickSeconds);
  const target = options.target ?? 3;
  const clock = new VirtualClock({ now: 0 });
  const provider = new TraceProvider({
    trace: window,
    clock,
    startTime: 0,
    coldStartMs: coldStartTicks * tickMs,
    spotPrice: options.spotPrice,
    onDemandPrice: options.onDemandPrice,
    // Final instances only need to outlive one listing.
    retainFinalMs: 2 * tickMs,
  });
  const records = new Map<string, ReplicaRecord>();
  const all: ReplicaRecord[] = [];
  let tick = 0;
  provider.onInstanceEvent((event) => {
    if (event.type === 'launch') {
      const record: ReplicaRecord = {
        id: event.instanceId,
        location: event.location,
        capacityType: event.capacityType,
        launchTick: tick,
        readyTick: tick + coldStartTicks,
        endTick: ticks,
        endReason: 'running',
      };
      records.set(event.instanceId, record);
      all.push(record);
      return;
    }
    const record = records.get(event.instanceId);
    if (record === undefined) return;
    record.endTick = tick;
    record.endReason = event.type === 'preempt' ? 'preempted' : 'terminated';
    records.delete(event.instanceId);
  });
  let nextId = 0;
  const manager = new ReplicaManager({
    service: 'sim',
    providers: [provider],
    policy: options.policy,
    store: new MemoryStateStore(),
    clock,
    target,
    prober: { probe: (probeTarget) => provider.isWarm(probeTarget.instanceId) },
    // Probe every tick; never give up on a cold start; terminate released replicas at once
    // (the paper's model has no drain); refresh prices once.
    readinessProbe: { periodMs: 0, initialDelayMs: 24 * 3_600_000 },
    drainMs: 0,
    offeringsRefreshMs: Number.MAX_SAFE_INTEGER,
    tickIntervalMs: tickMs,
    idGenerator: () => `r-${(nextId++).toString(36)}`,
    ...options.manager,
  });
  try {
    for (tick = 0; tick < ticks; tick++) {
      clock.set(tick * tickMs);
      await manager.reconcile();
      await manager.idle();
    }
  } finally {
    await manager.destroy();
  }
  for (const record of all) {
    if (record.readyTick !== undefined && record.readyTick >= record.endTick) {
      record.readyTick = undefined;
    }
  }
  return {
    ticks,
    tickSeconds,
    coldStartTicks,
    target,
    replicas: all,
    locations: window.zones.map((zone) => zone.location),
  };
}
