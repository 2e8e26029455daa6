import { describe, expect, it } from 'vitest';
import { instanceFromEc2, instanceStateFromEc2 } from './map-ec2-instance.js';

describe('instanceStateFromEc2', () => {
  it.each([
    ['pending', undefined, 'spot', 'pending'],
    ['running', undefined, 'on-demand', 'running'],
    ['shutting-down', 'Server.SpotInstanceTermination', 'spot', 'preempted'],
    ['terminated', 'Server.SpotInstanceTermination', 'spot', 'preempted'],
    ['stopped', 'Server.SpotInstanceShutdown', 'spot', 'preempted'],
    ['terminated', 'Server.InsufficientInstanceCapacity', 'spot', 'preempted'],
    ['shutting-down', 'Client.UserInitiatedShutdown', 'spot', 'stopping'],
    ['terminated', 'Client.UserInitiatedShutdown', 'spot', 'terminated'],
    ['terminated', 'Client.InstanceInitiatedShutdown', 'on-demand', 'terminated'],
    ['terminated', 'Server.SpotInstanceTermination', 'on-demand', 'terminated'],
    ['stopping', undefined, 'on-demand', 'stopping'],
    ['stopped', undefined, 'on-demand', 'terminated'],
    ['something-new', undefined, 'on-demand', 'stopping'],
  ] as const)('%s + %s (%s) → %s', (stateName, stateReason, capacityType, expected) => {
    expect(instanceStateFromEc2({ stateName, stateReason, capacityType })).toBe(expected);
  });
});

describe('instanceFromEc2', () => {
  it('maps ids, location, tags, lifecycle, launch time and an IPv6 endpoint', () => {
    const instance = instanceFromEc2(
      {
        InstanceId: 'i-1',
        InstanceType: 'g5.xlarge',
        Placement: { AvailabilityZone: 'eu-west-1b' },
        State: { Name: 'running', Code: 16 },
        LaunchTime: new Date(1_000),
        InstanceLifecycle: 'spot',
        PrivateIpAddress: 'fd00::1',
        Tags: [{ Key: 'a', Value: 'b' }],
      },
      { cloud: 'aws', region: 'eu-west-1', replicaPort: 80, endpointAddress: 'private' },
    );
    expect(instance).toEqual({
      id: 'i-1',
      location: 'aws/eu-west-1/eu-west-1b',
      instanceType: 'g5.xlarge',
      capacityType: 'spot',
      state: 'running',
      stateReason: undefined,
      tags: { a: 'b' },
      launchedAt: 1_000,
      endpoint: 'http://[fd00::1]:80',
    });
  });

  it('falls back to the requested tags when EC2 returned none, and has no endpoint without an address', () => {
    const instance = instanceFromEc2(
      {
        InstanceId: 'i-2',
        State: { Name: 'pending' },
        Placement: { AvailabilityZone: 'us-east-1a' },
      },
      {
        cloud: 'aws',
        region: 'us-east-1',
        replicaPort: 80,
        endpointAddress: 'public',
        fallbackTags: { 'spothedge-capacity-type': 'spot' },
      },
    );
    expect(instance.capacityType).toBe('spot');
    expect(instance.tags).toEqual({ 'spothedge-capacity-type': 'spot' });
    expect(instance.endpoint).toBeUndefined();
  });
});
