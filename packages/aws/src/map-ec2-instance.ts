import { OwnershipTag, locationId, replicaEndpoint } from '@spothedge/core';
import type { CapacityType, Instance, InstanceState } from '@spothedge/core';
import type { Instance as Ec2Instance } from '@aws-sdk/client-ec2';

/**
 * State reason codes that mean the cloud reclaimed a spot instance. `Server.SpotInstance*`
 * are interruptions; `Server.InsufficientInstanceCapacity` on a spot instance means it was
 * reclaimed while launching.
 */
export const SPOT_PREEMPTION_REASONS: ReadonlySet<string> = new Set([
  'Server.SpotInstanceTermination',
  'Server.SpotInstanceShutdown',
  'Server.SpotInstanceHibernate',
  'Server.InsufficientInstanceCapacity',
]);

/**
 * Maps an EC2 instance state name and state reason code to the core's
 * {@link InstanceState}. A spot instance going away for a spot reason is `preempted` as soon
 * as EC2 starts shutting it down; anything else leaving (e.g. `Client.UserInitiatedShutdown`)
 * is `stopping`, then `terminated`.
 */
export function instanceStateFromEc2(options: {
  readonly stateName: string | undefined;
  readonly stateReason: string | undefined;
  readonly capacityType: CapacityType;
}): InstanceState {
  const preempted =
    options.capacityType === 'spot' &&
    options.stateReason !== undefined &&
    SPOT_PREEMPTION_REASONS.has(options.stateReason);
  switch (options.stateName) {
    case 'pending':
      return 'pending';
    case 'running':
      return 'running';
    case 'shutting-down':
    case 'stopping':
      return preempted ? 'preempted' : 'stopping';
    case 'stopped':
    case 'terminated':
      return preempted ? 'preempted' : 'terminated';
    default:
      // Unknown future states: report the instance as not serving rather than dropping it.
      return 'stopping';
  }
}

/** Options for {@link instanceFromEc2}. */
export interface InstanceFromEc2Options {
  readonly cloud: string;
  readonly region: string;
  /** Port for `endpoint`, overriding the instance's port tag (`ReplicaTag.Port`). */
  readonly replicaPort?: number | undefined;
  readonly endpointAddress: 'private' | 'public';
  /** Tags to assume when EC2 omitted them from the response (RunInstances may). */
  readonly fallbackTags?: Readonly<Record<string, string>> | undefined;
}

/** Maps one EC2 instance description to the core's {@link Instance}. */
export function instanceFromEc2(instance: Ec2Instance, options: InstanceFromEc2Options): Instance {
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  }
  const allTags =
    Object.keys(tags).length === 0 && options.fallbackTags !== undefined
      ? { ...options.fallbackTags }
      : tags;
  const capacityType: CapacityType =
    instance.InstanceLifecycle === 'spot' || allTags[OwnershipTag.CapacityType] === 'spot'
      ? 'spot'
      : 'on-demand';
  const stateReason = instance.StateReason?.Code;
  const zone = instance.Placement?.AvailabilityZone;
  const address =
    options.endpointAddress === 'public' ? instance.PublicIpAddress : instance.PrivateIpAddress;
  const endpoint = replicaEndpoint({ address, tags: allTags, port: options.replicaPort });
  return {
    id: instance.InstanceId ?? '',
    location: locationId(options.cloud, options.region, zone),
    instanceType: instance.InstanceType ?? '',
    capacityType,
    state: instanceStateFromEc2({ stateName: instance.State?.Name, stateReason, capacityType }),
    stateReason,
    tags: allTags,
    launchedAt: instance.LaunchTime?.getTime() ?? 0,
    endpoint,
  };
}
