/** Shared by the crash-test child, its harness and the engine benchmark. */
import type { FakeInstance } from '@spothedge/core/testing';

export const CRASH_SERVICE = 'crash';
/** The fixed target a restarted child must reach within two ticks. */
export const VERIFY_TARGET = 2;
export const crashLocations: readonly string[] = [
  'fake/us-east-1/us-east-1a',
  'fake/us-east-1/us-east-1b',
  'fake/us-east-1/us-east-1c',
  'fake/us-west-2/us-west-2a',
];

export interface CloudInspection {
  /** Alive instances (pending/running) no tracked replica refers to. */
  readonly leaked: number;
  /** Replica ids that ever had more than one instance (idempotency broken). */
  readonly twins: number;
  /** Alive instances. */
  readonly alive: number;
}

/** Counts leaks (vs. `tracked` instance ids) and twins over the fake cloud's full history. */
export function inspectCloud(
  instances: readonly FakeInstance[],
  tracked: ReadonlySet<string>,
): CloudInspection {
  const perReplica = new Map<string, number>();
  let leaked = 0;
  let alive = 0;
  for (const instance of instances) {
    const replica = instance.tags['spothedge-replica'];
    if (replica !== undefined) perReplica.set(replica, (perReplica.get(replica) ?? 0) + 1);
    if (instance.state === 'pending' || instance.state === 'running') {
      alive++;
      if (!tracked.has(instance.id)) leaked++;
    }
  }
  let twins = 0;
  for (const count of perReplica.values()) if (count > 1) twins++;
  return { leaked, twins, alive };
}
