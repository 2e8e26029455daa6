import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  InvalidArgumentError,
  NotOwnedError,
  OwnershipTag,
  ReplicaTag,
  replicaOwnershipTags,
  serviceOwnershipTags,
  type CapacityType,
  type Instance,
} from '@spothedge/core';
import { NETWORK_API_VERSION, createAzureProvider } from './azure-provider.js';
import {
  fakeAzureSettings,
  startFakeAzure,
  type FakeAzureSetup,
} from './testing/fake-azure-setup.js';

const SERVICE = 'chat';
const serviceTags = serviceOwnershipTags(SERVICE);
let setup: FakeAzureSetup | undefined;

afterEach(async () => {
  if (setup === undefined) return;
  await setup.close();
  // No test ever makes the client ask for a token; every ARM call carried the fake header.
  expect(setup.credential.tokenRequests).toBe(0);
  for (const request of setup.fake.requests.filter((item) => item.operation !== 'prices')) {
    expect(request.authorization).toBe('Bearer fake-token-for-tests');
  }
  setup = undefined;
});

async function start(options: Parameters<typeof startFakeAzure>[0] = {}): Promise<FakeAzureSetup> {
  setup = await startFakeAzure(options);
  return setup;
}

function launch(
  current: FakeAzureSetup,
  options: {
    key: string;
    capacityType?: CapacityType;
    location?: string;
    replicaId?: string;
    startupScript?: string;
    signal?: AbortSignal;
    /** Written to the port tag (as the engine does with the spec's port). */
    port?: number;
  },
): Promise<Instance> {
  const capacityType = options.capacityType ?? 'spot';
  return current.provider.launch(
    {
      location: options.location ?? 'azure/eastus/1',
      capacityType,
      instanceType: 'Standard_D2s_v5',
      tags: {
        ...replicaOwnershipTags({
          service: SERVICE,
          replicaId: options.replicaId ?? options.key,
          capacityType,
        }),
        ...(options.port === undefined ? {} : { [ReplicaTag.Port]: String(options.port) }),
      },
      idempotencyKey: options.key,
      startupScript: options.startupScript,
    },
    { abortSignal: options.signal },
  );
}

interface SentBody {
  priority?: string;
  evictionPolicy?: string;
  billingProfile?: { maxPrice?: number };
  osProfile?: { customData?: string; computerName?: string; adminUsername?: string };
  networkProfile?: {
    networkApiVersion?: string;
    networkInterfaceConfigurations?: {
      name: string;
      properties?: {
        deleteOption?: string;
        ipConfigurations?: { properties?: { subnet?: { id?: string } } }[];
      };
    }[];
  };
  storageProfile?: { osDisk?: { deleteOption?: string }; imageReference?: Record<string, string> };
}

describe('launch', () => {
  it('creates a Spot VM with eviction policy Delete, max price -1, an inline NIC, our tags and the zone', async () => {
    const current = await start({ settings: { tags: { team: 'ml' } } });
    const instance = await launch(current, {
      key: 'chat-r1',
      startupScript: '#!/bin/sh\necho hello\n',
      port: 8081,
    });
    expect(instance).toMatchObject({
      location: 'azure/eastus/1',
      capacityType: 'spot',
      instanceType: 'Standard_D2s_v5',
      state: 'running',
      endpoint: expect.stringMatching(/^http:\/\/10\.0\.\d+\.\d+:8081$/),
    });
    expect(instance.id).toMatch(
      /\/providers\/Microsoft\.Compute\/virtualMachines\/spothedge-chat-r1$/,
    );
    const vm = current.fake.vm('spothedge-chat-r1')!;
    expect(vm.zone).toBe('1');
    expect(vm.region).toBe('eastus');
    expect(vm.tags).toEqual({
      team: 'ml',
      ...replicaOwnershipTags({ service: SERVICE, replicaId: 'chat-r1', capacityType: 'spot' }),
      [ReplicaTag.Port]: '8081',
    });
    const sent = vm.properties as SentBody;
    expect(sent.priority).toBe('Spot');
    expect(sent.evictionPolicy).toBe('Delete');
    expect(sent.billingProfile?.maxPrice).toBe(-1);
    expect(Buffer.from(sent.osProfile!.customData!, 'base64').toString()).toBe(
      '#!/bin/sh\necho hello\n',
    );
    expect(sent.osProfile?.computerName).toBe('spothedge-chat-r1');
    expect(sent.networkProfile?.networkApiVersion).toBe(NETWORK_API_VERSION);
    const nic = sent.networkProfile!.networkInterfaceConfigurations![0]!;
    expect(nic.properties?.deleteOption).toBe('Delete');
    expect(nic.properties?.ipConfigurations?.[0]?.properties?.subnet?.id).toMatch(
      /\/subnets\/replicas$/,
    );
    expect(sent.storageProfile?.osDisk?.deleteOption).toBe('Delete');
    expect(sent.storageProfile?.imageReference).toMatchObject({
      publisher: 'Canonical',
      version: 'latest',
    });
  });

  it('creates a Regular VM for on-demand, without eviction policy or billing profile', async () => {
    const current = await start({ settings: { startupScript: 'echo default' } });
    const instance = await launch(current, {
      key: 'chat-od',
      capacityType: 'on-demand',
      location: 'azure/westus',
    });
    expect(instance).toMatchObject({
      capacityType: 'on-demand',
      location: 'azure/westus',
      state: 'running',
    });
    const vm = current.fake.vm(current.provider.vmName('chat-od'))!;
    const sent = vm.properties as SentBody;
    expect(sent.priority).toBe('Regular');
    expect(sent.evictionPolicy).toBeUndefined();
    expect(sent.billingProfile).toBeUndefined();
    expect(vm.zone).toBeUndefined();
    // The settings' startup script is the default.
    expect(Buffer.from(sent.osProfile!.customData!, 'base64').toString()).toBe('echo default');
  });

  it('is idempotent: a retried launch finds the VM by its deterministic name (one PUT)', async () => {
    const current = await start();
    const first = await launch(current, { key: 'chat-same' });
    const second = await launch(current, { key: 'chat-same' });
    expect(second.id).toBe(first.id);
    expect(current.fake.count('create')).toBe(1);
    expect(current.fake.vms).toHaveLength(1);
  });

  it('adopts the VM when a concurrent launch created it between GET and PUT (If-None-Match)', async () => {
    const current = await start();
    const first = await launch(current, { key: 'chat-race' });
    // The next GET misses the VM (as if it appeared just after): the PUT is refused with 412.
    current.fake.failNext({
      operation: 'get',
      status: 404,
      body: { error: { code: 'ResourceNotFound', message: 'Not found.' } },
    });
    const second = await launch(current, { key: 'chat-race' });
    expect(second.id).toBe(first.id);
    expect(current.fake.vms).toHaveLength(1);
  });

  it('refuses to adopt a VM of the same name that lacks our tags', async () => {
    const current = await start();
    await launch(current, { key: 'chat-taken', replicaId: 'someone' });
    await expect(launch(current, { key: 'chat-taken', replicaId: 'another' })).rejects.toSatisfy(
      (error: unknown) => NotOwnedError.isInstance(error),
    );
  });

  it('rejects bad requests before any call', async () => {
    const current = await start();
    await expect(launch(current, { key: 'chat-x', location: 'azure/eastus/9' })).rejects.toSatisfy(
      (error: unknown) => InvalidArgumentError.isInstance(error) && error.argument === 'location',
    );
    await expect(launch(current, { key: 'Bad_Key' })).rejects.toSatisfy(
      (error: unknown) =>
        InvalidArgumentError.isInstance(error) && error.argument === 'idempotencyKey',
    );
    await expect(
      launch(current, { key: 'chat-big', startupScript: 'x'.repeat(70_000) }),
    ).rejects.toSatisfy(
      (error: unknown) =>
        InvalidArgumentError.isInstance(error) && error.argument === 'startupScript',
    );
    expect(current.fake.requests).toHaveLength(0);
  });

  it('rejects with AbortedError when aborted while the create is polled', async () => {
    const current = await start({ fake: { createPolls: 1000 }, settings: { pollIntervalMs: 5 } });
    const controller = new AbortController();
    const pending = launch(current, { key: 'chat-abort', signal: controller.signal });
    while (current.fake.count('poll') < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(pending).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    // The VM the cloud accepted is still listed (tagged), for the caller to adopt.
    const listed = await current.provider.list({ tags: serviceTags });
    expect(listed.map((instance) => instance.state)).toEqual(['pending']);
  });

  it('polls long-running operations at the configured interval until they finish', async () => {
    const current = await start({ fake: { createPolls: 3 } });
    const instance = await launch(current, { key: 'chat-slow' });
    expect(instance.state).toBe('running');
    expect(current.fake.count('poll')).toBe(4);
  });
});

describe('list', () => {
  it('reads every page of the resource group and keeps ours by tag', async () => {
    const current = await start({ fake: { pageSize: 2 } });
    await launch(current, { key: 'chat-a' });
    await launch(current, { key: 'chat-b', capacityType: 'on-demand' });
    await launch(current, { key: 'chat-c', location: 'azure/eastus/2' });
    current.fake.createForeignVm('eastus', '1');
    current.fake.createForeignVm('eastus', '2', { ...serviceOwnershipTags('other-service') });
    const before = current.fake.count('list');
    const listed = await current.provider.list({ tags: serviceTags });
    expect(current.fake.count('list') - before).toBe(3); // 5 VMs, 2 per page
    expect(listed.map((instance) => instance.tags[OwnershipTag.Replica]).sort()).toEqual([
      'chat-a',
      'chat-b',
      'chat-c',
    ]);
    expect(listed.every((instance) => instance.state === 'running')).toBe(true);
    const byReplica = await current.provider.list({
      tags: { ...serviceTags, [OwnershipTag.Replica]: 'chat-b' },
    });
    expect(byReplica).toHaveLength(1);
    expect(byReplica[0]).toMatchObject({ capacityType: 'on-demand' });
  });

  it('takes the endpoint port from the VM port tag; replicaPort overrides it', async () => {
    const current = await start();
    const tagged = await launch(current, { key: 'chat-port', port: 8081 });
    expect(tagged.endpoint).toMatch(/^http:\/\/10\.0\.\d+\.\d+:8081$/);
    await launch(current, { key: 'chat-none' });
    const listed = await current.provider.list({ tags: serviceTags });
    const endpointOf = (replica: string) =>
      listed.find((instance) => instance.tags[OwnershipTag.Replica] === replica)?.endpoint;
    expect(endpointOf('chat-port')).toBe(tagged.endpoint);
    expect(endpointOf('chat-none')).toBeUndefined(); // no port tag, no replicaPort
    const overriding = createAzureProvider(
      fakeAzureSettings(current.fake, current.credential, { replicaPort: 9000 }),
    );
    try {
      const relisted = await overriding.list({ tags: serviceTags });
      expect(relisted.map((instance) => instance.endpoint?.replace(/^.*:/, ''))).toEqual([
        '9000',
        '9000',
      ]);
    } finally {
      await overriding.close();
    }
  });

  it('shows a VM that is still being created as pending', async () => {
    const current = await start({ fake: { createPolls: 1000 } });
    const controller = new AbortController();
    const pending = launch(current, { key: 'chat-booting', signal: controller.signal });
    while (current.fake.count('poll') < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const listed = await current.provider.list({ tags: serviceTags });
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ state: 'pending', endpoint: undefined });
    controller.abort();
    await expect(pending).rejects.toBeDefined();
  });

  it('reports a Spot VM deallocated by eviction as preempted', async () => {
    const current = await start({ settings: { evictionPolicy: 'Deallocate' } });
    const instance = await launch(current, { key: 'chat-evicted' });
    expect((current.fake.vm('spothedge-chat-evicted')!.properties as SentBody).evictionPolicy).toBe(
      'Deallocate',
    );
    current.fake.evict(instance.id);
    const listed = await current.provider.list({ tags: serviceTags });
    expect(listed).toEqual([
      expect.objectContaining({
        id: instance.id,
        state: 'preempted',
        stateReason: 'PowerState/deallocated',
      }),
    ]);
  });

  it('no longer lists a Spot VM deleted by eviction', async () => {
    const current = await start();
    const instance = await launch(current, { key: 'chat-gone' });
    current.fake.evict(instance.id);
    expect(await current.provider.list({ tags: serviceTags })).toEqual([]);
  });

  it('evicts Spot VMs when zone capacity drops over time', async () => {
    let now = 0;
    const current = await start({ fake: { now: () => now } });
    await launch(current, { key: 'chat-z1' });
    await launch(current, { key: 'chat-z2' });
    await launch(current, { key: 'chat-od', capacityType: 'on-demand' });
    current.fake.scheduleCapacity('eastus', '1', 'spot', [
      { at: 0, capacity: undefined },
      { at: 1000, capacity: 1 },
      { at: 2000, capacity: 0 },
    ]);
    now = 1500;
    const afterFirstDrop = await current.provider.list({ tags: serviceTags });
    expect(afterFirstDrop.filter((instance) => instance.capacityType === 'spot')).toHaveLength(1);
    now = 2500;
    const afterSecondDrop = await current.provider.list({ tags: serviceTags });
    expect(afterSecondDrop.map((instance) => instance.capacityType)).toEqual(['on-demand']);
    expect(current.fake.evictions).toHaveLength(2);
    // A spot launch there now fails for capacity, and leaves nothing behind.
    await expect(launch(current, { key: 'chat-z3' })).rejects.toMatchObject({
      code: 'CAPACITY_UNAVAILABLE',
    });
    expect(current.fake.vm('spothedge-chat-z3')).toBeUndefined();
  });

  it('rejects a Spot launch beyond the Spot quota with QuotaExceededError, on-demand still launches', async () => {
    const current = await start();
    current.fake.setSpotQuota(1);
    await launch(current, { key: 'chat-q1' });
    await expect(
      launch(current, { key: 'chat-q2', location: 'azure/eastus/2' }),
    ).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      location: 'azure/eastus/2',
      capacityType: 'spot',
    });
    await launch(current, { key: 'chat-q3', capacityType: 'on-demand' });
    expect(current.fake.vms).toHaveLength(2);
  });

  it('skips a VM deleted between the list and its instance view', async () => {
    const current = await start();
    await launch(current, { key: 'chat-racing' });
    current.fake.failNext({
      operation: 'instanceView',
      status: 404,
      body: { error: { code: 'ResourceNotFound', message: 'Gone.' } },
    });
    expect(await current.provider.list({ tags: serviceTags })).toEqual([]);
  });
});

describe('terminate', () => {
  it('deletes our VM and is idempotent (404 and unknown ids resolve)', async () => {
    const current = await start();
    const instance = await launch(current, { key: 'chat-t' });
    await current.provider.terminate({ instanceId: instance.id, tags: serviceTags });
    expect(current.fake.vms).toHaveLength(0);
    await current.provider.terminate({ instanceId: instance.id, tags: serviceTags });
    await current.provider.terminate({ instanceId: 'spothedge-never-was', tags: serviceTags });
    expect(current.fake.count('delete')).toBe(1);
  });

  it('resolves when the VM disappears between the check and the delete', async () => {
    const current = await start();
    const instance = await launch(current, { key: 'chat-t2' });
    current.fake.failNext({
      operation: 'delete',
      status: 404,
      body: { error: { code: 'ResourceNotFound', message: 'Gone.' } },
    });
    await current.provider.terminate({ instanceId: instance.id, tags: serviceTags });
  });

  it("refuses VMs without our tags, another service's VMs and ids outside the resource group", async () => {
    const current = await start();
    const foreign = current.fake.createForeignVm('eastus', '1');
    await expect(
      current.provider.terminate({ instanceId: foreign, tags: serviceTags }),
    ).rejects.toSatisfy((error: unknown) => NotOwnedError.isInstance(error));
    const ours = await launch(current, { key: 'chat-t3' });
    await expect(
      current.provider.terminate({ instanceId: ours.id, tags: serviceOwnershipTags('other') }),
    ).rejects.toSatisfy((error: unknown) => NotOwnedError.isInstance(error));
    const elsewhere = ours.id.replace(
      `/resourceGroups/${current.fake.resourceGroup}/`,
      '/resourceGroups/prod/',
    );
    await expect(
      current.provider.terminate({ instanceId: elsewhere, tags: serviceTags }),
    ).rejects.toSatisfy((error: unknown) => NotOwnedError.isInstance(error));
    expect(current.fake.count('delete')).toBe(0);
    expect(current.fake.vms).toHaveLength(2);
  });
});

describe('abort and guards', () => {
  it('rejects list with AbortedError when the signal has fired', async () => {
    const current = await start({ fake: { pageSize: 1 } });
    await launch(current, { key: 'chat-p1' });
    await launch(current, { key: 'chat-p2' });
    const controller = new AbortController();
    controller.abort();
    await expect(
      current.provider.list({ tags: serviceTags }, { abortSignal: controller.signal }),
    ).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
  });

  it('refuses to terminate with an empty tag set', async () => {
    const current = await start();
    const foreign = current.fake.createForeignVm('eastus', '1');
    await expect(current.provider.terminate({ instanceId: foreign, tags: {} })).rejects.toSatisfy(
      (error: unknown) => InvalidArgumentError.isInstance(error) && error.argument === 'tags',
    );
    expect(current.fake.count('delete')).toBe(0);
  });
});

describe('offerings', () => {
  it('offers spot and on-demand in every zone at Retail Prices API prices, cached', async () => {
    const current = await start();
    current.fake.setRetailPrice('eastus', 'Standard_D2s_v5', { spot: 0.021, onDemand: 0.096 });
    current.fake.setRetailPrice('westus', 'Standard_D2s_v5', { spot: 0.025, onDemand: 0.11 });
    const offerings = await current.provider.offerings();
    expect(offerings).toHaveLength(6);
    expect(
      offerings.find((item) => item.location === 'azure/eastus/2' && item.capacityType === 'spot')
        ?.hourlyPrice,
    ).toBe(0.021);
    expect(
      offerings.find(
        (item) => item.location === 'azure/westus' && item.capacityType === 'on-demand',
      )?.hourlyPrice,
    ).toBe(0.11);
    const requests = current.fake.count('prices');
    await current.provider.offerings();
    expect(current.fake.count('prices')).toBe(requests);
  });
});
