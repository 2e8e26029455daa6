import { ManualClock, OwnershipTag, ReplicaTag, type Service } from '@spothedge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_REGION, AZURE_ZONES, startLocalClouds, type LocalClouds } from './local-clouds.js';
import { createMultiCloudService, placementByCloud } from './multi-cloud-service.js';

// The real engine and the three real SDK clients, against the three wire fakes on
// 127.0.0.1. Ticks run by hand under a virtual clock; the fakes' instances run no server,
// so the prober takes a running instance as ready (on a cloud, leave `prober` out).
let clouds: LocalClouds;
let service: Service;
const clock = new ManualClock({ now: Date.now() });

async function settle(done: () => boolean): Promise<void> {
  for (let tick = 0; tick < 40 && !done(); tick += 1) {
    await service.reconcile();
    await service.manager.idle();
    await clock.advance(30_000);
  }
}

const ready = () => service.status().replicas.filter((replica) => replica.status === 'ready');
const spotByCloud = () =>
  Object.fromEntries(
    Object.entries(placementByCloud(service))
      .filter(([, counts]) => (counts.spot ?? 0) > 0)
      .map(([cloud, counts]) => [cloud, counts.spot]),
  );

beforeAll(async () => {
  clouds = await startLocalClouds();
  service = createMultiCloudService(clouds.settings, {
    clock,
    prober: { probe: () => true },
    drainMs: 0,
  });
});

afterAll(async () => {
  await service?.destroy().catch(() => undefined);
  await clouds?.close();
});

describe('one service across AWS, GCP and Azure (local wire fakes)', () => {
  it('spreads spot over the cheapest clouds, moves off one that runs out, and cleans up all three', async () => {
    await settle(() => ready().length >= 4);
    // Four spot replicas (target 3 + the spare), one per zone, cheapest clouds first:
    // Azure (0.10/h), then GCP (0.34/h); AWS (0.45/h) is not needed yet. The on-demand
    // replicas that covered the cold start are gone.
    expect(spotByCloud()).toEqual({ azure: 2, gcp: 2 });
    expect(ready()).toHaveLength(4);
    for (const replica of service.status().replicas) {
      // The spec's port, through the port tag, in every cloud's endpoint.
      expect(replica.endpoint, replica.id).toMatch(/:8000$/);
      // Each cloud's own instance type, from the spec's list.
      const expected = { aws: 'g5.xlarge', gcp: 'g2-standard-8', azure: 'Standard_NV6ads_A10_v5' };
      expect(replica.instanceType).toBe(expected[replica.provider as keyof typeof expected]);
    }
    for (const vm of clouds.arm.vms) {
      expect(vm.tags[OwnershipTag.Service]).toBe('llama');
      expect(vm.tags[ReplicaTag.Port]).toBe('8000');
    }

    // Azure runs out of spot: its spot VMs are evicted and no new one fits there.
    const preempted: string[] = [];
    service.on('replica-preempt', (event) => void preempted.push(event.location));
    for (const zone of AZURE_ZONES) clouds.arm.setCapacity(AZURE_REGION, zone, 'spot', 0);
    await settle(() => ready().length >= 4 && spotByCloud()['azure'] === undefined);
    expect(preempted).toHaveLength(2);
    expect(preempted.every((location) => location.startsWith('azure/'))).toBe(true);
    expect(spotByCloud()).toEqual({ gcp: 2, aws: 2 });
    expect(ready()).toHaveLength(4);

    await service.stop({ terminate: true });
    const alive = (states: readonly unknown[]) =>
      states.filter((state) =>
        ['pending', 'running', 'PROVISIONING', 'RUNNING'].includes(String(state)),
      );
    expect(alive(clouds.ec2.instances().map((instance) => instance.state))).toEqual([]);
    expect(alive(clouds.gce.instances().map((instance) => instance['status']))).toEqual([]);
    expect(clouds.arm.vms.filter((vm) => vm.power === 'running')).toEqual([]);
  });
});
