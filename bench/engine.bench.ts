/**
 * Engine benchmark → bench/results/engine.json:
 * - `reconcileMs`: one steady `ReplicaManager.reconcile()` tick over 10 000 ready replicas
 *   in 500 locations (list, notices, probes of every replica, SpotHedge plan, no writes),
 *   on a ManualClock with an in-memory provider, so only the engine is measured;
 * - `heapMB`: heap used with that fleet loaded, after GC;
 * - the crash test with more runs than CI (`ENGINE_BENCH_CRASHES`, default 100).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock, ReplicaManager, SpotHedgePolicy } from '../packages/core/src/index.js';
import type {
  Instance,
  LaunchRequest,
  Location,
  Offering,
  ProviderV1,
} from '../packages/core/src/index.js';
import { runCrashTest } from '../test/engine/crash-harness.js';
import { round, summarize, writeResult } from './results.js';

const REPLICAS = 10_000;
const LOCATIONS = 500;
const TICKS = 200;

/**
 * A cloud in a Map: launches are immediate and running. `list` answers with instances
 * freshly decoded from JSON, as a real provider's `list` does from its API response; the
 * bench decodes them before each timed tick (`prepareListing`) so only the engine is
 * timed, not the provider.
 */
class BenchProvider implements ProviderV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name = 'bench';
  readonly #locations: Location[] = Array.from({ length: LOCATIONS }, (_, index) => ({
    id: `bench/region-${Math.floor(index / 5)}/zone-${index}`,
    cloud: 'bench',
    region: `region-${Math.floor(index / 5)}`,
    zone: `zone-${index}`,
  }));
  readonly #instances = new Map<string, Instance>();
  #prepared: Instance[] | undefined;
  #next = 0;

  locations(): readonly Location[] {
    return this.#locations;
  }
  async offerings(): Promise<readonly Offering[]> {
    return this.#locations.flatMap((location, index) => [
      {
        location: location.id,
        instanceType: 'gpu',
        capacityType: 'spot' as const,
        hourlyPrice: 1 + index / 1000,
      },
      {
        location: location.id,
        instanceType: 'gpu',
        capacityType: 'on-demand' as const,
        hourlyPrice: 3,
      },
    ]);
  }
  async launch(request: LaunchRequest): Promise<Instance> {
    const id = `i-${this.#next++}`;
    const instance: Instance = {
      id,
      location: request.location,
      instanceType: request.instanceType,
      capacityType: request.capacityType,
      state: 'running',
      tags: request.tags,
      launchedAt: 0,
      endpoint: `http://10.0.${this.#next >> 8}.${this.#next & 255}:8080`,
    };
    this.#instances.set(id, instance);
    return instance;
  }
  /** Decodes the next listing (new objects and strings, as from an API response). */
  prepareListing(): void {
    this.#prepared = JSON.parse(JSON.stringify([...this.#instances.values()])) as Instance[];
  }
  async list(): Promise<readonly Instance[]> {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    return prepared ?? [...this.#instances.values()];
  }
  async terminate(request: { instanceId: string }): Promise<void> {
    this.#instances.delete(request.instanceId);
  }
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

async function benchReconcile() {
  const clock = new ManualClock({ now: 0 });
  const provider = new BenchProvider();
  const manager = new ReplicaManager({
    service: 'bench',
    providers: [provider],
    policy: new SpotHedgePolicy({ overprovision: 1 }),
    clock,
    target: REPLICAS - 1, // SpotHedge keeps target + 1 spot replicas
    maxReplicas: 2 * REPLICAS,
    prober: { probe: () => true },
    readinessProbe: { periodMs: 0 },
    concurrency: 64,
  });
  // Warm up to the steady state (every replica ready, fallback released).
  for (let tick = 0; tick < 8; tick++) {
    await manager.reconcile();
    await manager.idle();
    await clock.advance(10_000);
  }
  const counts = manager.status().countsByStatus;
  if (counts.ready !== REPLICAS) throw new Error(`not steady: ${JSON.stringify(counts)}`);
  const samples: number[] = [];
  for (let tick = 0; tick < TICKS; tick++) {
    provider.prepareListing();
    // The decoding's garbage is collected here, not inside the timed tick.
    gc({ type: 'minor' });
    const started = performance.now();
    await manager.reconcile();
    samples.push(performance.now() - started);
    await clock.advance(10_000);
  }
  gc();
  gc();
  const heapMB = process.memoryUsage().heapUsed / 1024 / 1024;
  await manager.destroy();
  return { samples, heapMB };
}

/**
 * A fixed reference workload (20 000 Map operations), timed beside the ticks: compare it
 * across runs to tell a slower engine from a busier machine.
 */
function calibrationMs(): number {
  const keys = Array.from(
    { length: 10_000 },
    (_, index) => `r-${index.toString(16).padStart(16, '0')}`,
  );
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    const map = new Map<string, number>();
    for (const key of keys) map.set(key, key.length);
    for (const key of keys) map.delete(key);
    samples.push(performance.now() - started);
  }
  return summarize(samples).median;
}

const calibrationBefore = calibrationMs();
const { samples, heapMB } = await benchReconcile();
const calibrationAfter = calibrationMs();
const crashes = Number(process.env['ENGINE_BENCH_CRASHES'] ?? 100);
const crash = await runCrashTest({ crashes, chains: 2, seed: 424242 });
writeResult('engine', {
  reconcileMs: { replicas: REPLICAS, locations: LOCATIONS, ...summarize(samples) },
  heapMB: round(heapMB, 1),
  calibrationMs: round((calibrationBefore + calibrationAfter) / 2),
  crashRuns: crash.crashRuns,
  leaked: crash.leaked,
  twins: crash.twins,
  missedDesired: crash.missedDesired,
  aliveAfterStop: crash.aliveAfterStop,
});
