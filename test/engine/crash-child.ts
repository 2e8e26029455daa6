/**
 * Crash-test child. Each child restarts the service from what the previous (SIGKILLed)
 * child left — SQLite state file plus a FakeProvider cloud persisted in a JSON file — and:
 *
 * 1. recovers with two manual ticks at a fixed target and prints a `verify` line:
 *    leaked instances, twins, and whether the desired state was reached;
 * 2. `churn` mode: runs the reconcile loop on the system clock with tiny periods while
 *    changing the target, preempting spot instances and removing zone capacity, and prints
 *    `ready` — until the parent SIGKILLs it at a random moment;
 *    `final` mode: stops with `terminate: true` and prints how many instances are alive.
 *
 * Usage: node crash-child.mjs DIR SEED churn|final
 */
import { join } from 'node:path';
import { ReplicaManager, SeededRandom, SpotHedgePolicy, SystemClock } from '@spothedge/core';
import type { TargetSource } from '@spothedge/core';
import { FakeProvider } from '@spothedge/core/testing';
import { SqliteStateStore } from '@spothedge/store-sqlite';
import { CRASH_SERVICE, VERIFY_TARGET, crashLocations, inspectCloud } from './crash-setup.js';

const [directory, seedText, mode] = process.argv.slice(2);
// The SDK's timers are unref'd (it never holds a host open): this host holds itself open.
setInterval(() => {}, 60_000);
const seed = Number(seedText);
const random = new SeededRandom(seed);
const clock = new SystemClock();
const provider = new FakeProvider({
  clock,
  locations: crashLocations,
  storagePath: join(directory!, 'cloud.json'),
  // The window between "the cloud accepted the launch" and "the caller heard back".
  launchLatencyMs: 1 + random.nextInt(6),
});
const store = new SqliteStateStore({ path: join(directory!, 'state.db'), synchronous: 'normal' });
const target = { value: VERIFY_TARGET };
const targetSource: TargetSource = { evaluate: () => target.value };
const manager = new ReplicaManager({
  service: CRASH_SERVICE,
  providers: [provider],
  policy: new SpotHedgePolicy({ placement: 'random', seed }),
  store,
  clock,
  target: targetSource,
  maxReplicas: 12,
  prober: { probe: (replica) => provider.instance(replica.instanceId)?.state === 'running' },
  readinessProbe: { periodMs: 0 },
  tickIntervalMs: 3,
  drainMs: 5,
  retry: { retries: 2, minDelayMs: 1, maxDelayMs: 4 },
  seed,
});
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

// 1. Restart: recover and reach the desired state within two ticks.
for (let tick = 1; tick <= 2; tick++) {
  await manager.reconcile();
  await manager.idle();
}
const tracked = new Set(
  manager
    .status()
    .replicas.map((replica) => replica.instanceId)
    .filter((id): id is string => id !== undefined),
);
const ready = manager.status().countsByStatus.ready ?? 0;
print({ verify: { ...inspectCloud(provider.instances(), tracked), ready, target: VERIFY_TARGET } });

if (mode === 'final') {
  await manager.stop({ terminate: true });
  await store.close();
  print({ final: inspectCloud(provider.instances(), new Set()) });
  process.exit(0);
}

// 2. Churn until killed.
await manager.start();
setInterval(() => {
  const roll = random.next();
  if (roll < 0.4) {
    target.value = random.nextInt(5);
  } else if (roll < 0.7) {
    const spot = provider
      .instances()
      .filter((instance) => instance.capacityType === 'spot' && instance.state === 'running');
    if (spot.length > 0) provider.preempt(random.pick(spot).id);
  } else if (roll < 0.85) {
    provider.setCapacity(random.pick(crashLocations), 0);
  } else {
    provider.clearCapacity(random.pick(crashLocations));
  }
}, 5);
print({ ready: true });
