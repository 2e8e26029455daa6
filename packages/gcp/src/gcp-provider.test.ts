import {
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  NotOwnedError,
  ProviderError,
  QuotaExceededError,
  ReplicaTag,
  SpotHedgeError,
  ThrottledError,
  replicaOwnershipTags,
  serviceOwnershipTags,
  type CapacityType,
} from '@spothedge/core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runProviderConformanceSuite } from '@spothedge/core/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { catalogSkuFixtures } from './testing/catalog-fixtures.js';
import { closeGcpClients, createGcpClients, type GcpClients } from './gcp-clients.js';
import { createGcpProvider, type GcpProvider } from './gcp-provider.js';
import type { GcpProviderSettings } from './gcp-provider-settings.js';
import { createStaticAuthClient } from './static-auth-client.js';
import { GceFake, type GceFakeFault, type GceFakeMethod } from './testing/gce-fake.js';

// One fake and one pair of clients for the whole file (clients take ~1 s to create);
// the fake's state is reset before every test.
let fake: GceFake;
let clients: GcpClients;
// Stands in for the metadata server (169.254.169.254): any request to it is a failure.
let metadataServer: Server;
const metadataRequests: string[] = [];

beforeAll(async () => {
  metadataServer = createServer((request, response) => {
    metadataRequests.push(request.url ?? '');
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
  const port = (metadataServer.address() as AddressInfo).port;
  // Were any client to look for credentials, it would read these and call this server.
  vi.stubEnv('GCE_METADATA_HOST', `127.0.0.1:${port}`);
  vi.stubEnv('GCE_METADATA_IP', `127.0.0.1:${port}`);
  vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', '/nonexistent/spothedge-credentials.json');
  fake = await GceFake.start();
  clients = await createGcpClients({ authClient: createStaticAuthClient(), apiEndpoint: fake.url });
});

afterAll(async () => {
  await closeGcpClients(clients);
  await fake.close();
  await new Promise<void>((resolve) => metadataServer.close(() => resolve()));
  vi.unstubAllEnvs();
});

beforeEach(() => {
  fake.reset();
});

const ZONE = 'us-central1-a';
const LOCATION = `gcp/us-central1/${ZONE}`;
const SERVICE = 'chat';

function provider(overrides: Partial<GcpProviderSettings> = {}): GcpProvider {
  return createGcpProvider({
    project: fake.project,
    zones: [ZONE, 'us-central1-b'],
    machineType: 'n2-standard-4',
    image: 'projects/debian-cloud/global/images/family/debian-12',
    createClients: () => clients,
    authClient: createStaticAuthClient(),
    replicaPort: 8080,
    pricing: { source: 'table' },
    ...overrides,
  });
}

let keyCounter = 0;

function launch(
  gcp: GcpProvider,
  capacityType: CapacityType,
  options: {
    replicaId?: string;
    service?: string;
    key?: string;
    startupScript?: string;
    port?: number;
  } = {},
) {
  keyCounter += 1;
  return gcp.launch({
    location: LOCATION,
    capacityType,
    instanceType: 'n2-standard-4',
    tags: {
      ...replicaOwnershipTags({
        service: options.service ?? SERVICE,
        replicaId: options.replicaId ?? `r-${keyCounter}`,
        capacityType,
      }),
      ...(options.port === undefined ? {} : { [ReplicaTag.Port]: String(options.port) }),
    },
    idempotencyKey: options.key ?? `key-${keyCounter}`,
    startupScript: options.startupScript,
  });
}

describe('launch', () => {
  it('takes the endpoint port from the launch port tag; replicaPort overrides it', async () => {
    const gcp = provider({ replicaPort: undefined });
    const tagged = await launch(gcp, 'spot', { replicaId: 'r-port', port: 8081 });
    expect(tagged.endpoint).toMatch(/^http:\/\/10\.128\.\d+\.\d+:8081$/);
    await launch(gcp, 'spot', { replicaId: 'r-none' });
    const listed = await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
    const endpointOf = (replica: string) =>
      listed.find((instance) => instance.tags['spothedge-replica'] === replica)?.endpoint;
    expect(endpointOf('r-port')).toBe(tagged.endpoint);
    expect(endpointOf('r-none')).toBeUndefined(); // no port tag, no replicaPort
    const overridden = await provider({ replicaPort: 9000 }).list({
      tags: serviceOwnershipTags(SERVICE),
    });
    expect(overridden.map((instance) => instance.endpoint?.replace(/^.*:/, ''))).toEqual([
      '9000',
      '9000',
    ]);
  });

  it('inserts a SPOT instance that deletes itself on preemption, labelled and with its startup script', async () => {
    const gcp = provider({
      network: 'global/networks/serving',
      subnetwork: 'regions/us-central1/subnetworks/serving',
      serviceAccount: { email: 'replicas@my-project.iam.gserviceaccount.com' },
      labels: { team: 'ml' },
      externalIp: true,
    });
    const instance = await launch(gcp, 'spot', { key: 'abc-1', startupScript: 'echo hi' });
    expect(instance).toMatchObject({
      id: `${ZONE}/spothedge-abc-1`,
      location: LOCATION,
      instanceType: 'n2-standard-4',
      capacityType: 'spot',
      state: 'running',
    });
    expect(instance.endpoint).toMatch(/^http:\/\/10\.128\.\d+\.\d+:8080$/);
    const body = fake.insertBodies[0]!;
    expect(body['scheduling']).toEqual({
      provisioningModel: 'SPOT',
      instanceTerminationAction: 'DELETE',
      automaticRestart: false,
      onHostMaintenance: 'TERMINATE',
    });
    expect(body['labels']).toMatchObject({
      team: 'ml',
      'spothedge-managed-by': 'spothedge',
      'spothedge-service': SERVICE,
      'spothedge-capacity-type': 'spot',
    });
    const items = (body['metadata'] as { items: { key: string; value: string }[] }).items;
    expect(items).toContainEqual({ key: 'startup-script', value: 'echo hi' });
    expect(body['networkInterfaces']).toEqual([
      {
        network: 'global/networks/serving',
        subnetwork: 'regions/us-central1/subnetworks/serving',
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      },
    ]);
    expect(body['serviceAccounts']).toEqual([
      {
        email: 'replicas@my-project.iam.gserviceaccount.com',
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ]);
    expect(body['machineType']).toBe(`zones/${ZONE}/machineTypes/n2-standard-4`);
  });

  it('inserts on-demand instances with the STANDARD provisioning model and GPUs attached', async () => {
    const gcp = provider({
      machineType: 'n1-standard-8',
      accelerators: [{ type: 'nvidia-tesla-t4', count: 1 }],
      startupScript: 'echo default',
    });
    await gcp.launch({
      location: LOCATION,
      capacityType: 'on-demand',
      instanceType: 'n1-standard-8',
      tags: replicaOwnershipTags({ service: SERVICE, replicaId: 'r', capacityType: 'on-demand' }),
      idempotencyKey: 'od-1',
    });
    const body = fake.insertBodies[0]!;
    expect(body['scheduling']).toEqual({
      provisioningModel: 'STANDARD',
      automaticRestart: true,
      onHostMaintenance: 'TERMINATE',
    });
    expect(body['guestAccelerators']).toEqual([
      { acceleratorType: `zones/${ZONE}/acceleratorTypes/nvidia-tesla-t4`, acceleratorCount: 1 },
    ]);
    const items = (body['metadata'] as { items: { key: string; value: string }[] }).items;
    expect(items).toContainEqual({ key: 'startup-script', value: 'echo default' });
  });

  it('is idempotent: the same key sends the same requestId and yields one instance', async () => {
    const gcp = provider();
    const first = await launch(gcp, 'spot', { key: 'same', replicaId: 'r-1' });
    const second = await launch(gcp, 'spot', { key: 'same', replicaId: 'r-1' });
    expect(second.id).toBe(first.id);
    expect(fake.calls('instances.insert')).toBe(2);
    expect((await gcp.list({ tags: serviceOwnershipTags(SERVICE) })).length).toBe(1);
  });

  it('adopts its own instance when the requestId was forgotten (409 already exists)', async () => {
    const gcp = provider();
    const first = await launch(gcp, 'on-demand', { key: 'late', replicaId: 'r-1' });
    fake.forgetRequestIds();
    const second = await launch(gcp, 'on-demand', { key: 'late', replicaId: 'r-1' });
    expect(second.id).toBe(first.id);
  });

  it('refuses to adopt a same-named instance that is not ours', async () => {
    const gcp = provider();
    fake.createForeignInstance(ZONE, { name: 'spothedge-taken' });
    await expect(launch(gcp, 'spot', { key: 'taken' })).rejects.toSatisfy((error) =>
      NotOwnedError.isInstance(error),
    );
  });

  it('rejects a location or instance type it is not configured for', async () => {
    const gcp = provider();
    await expect(
      gcp.launch({
        location: 'gcp/europe-west4/europe-west4-a',
        capacityType: 'spot',
        instanceType: 'n2-standard-4',
        tags: {},
        idempotencyKey: 'x',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'location' });
    await expect(
      gcp.launch({
        location: LOCATION,
        capacityType: 'spot',
        instanceType: 'n2-standard-8',
        tags: {},
        idempotencyKey: 'x',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'instanceType' });
    expect(fake.calls('instances.insert')).toBe(0);
  });
});

describe('capacity over time', () => {
  it('fails spot launches beyond zone capacity and preempts the excess when capacity drops', async () => {
    const gcp = provider();
    fake.setCapacity(ZONE, 'spot', 1);
    const running = await launch(gcp, 'spot');
    const error = await launch(gcp, 'spot').catch((caught: unknown) => caught);
    expect(CapacityUnavailableError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ location: LOCATION, capacityType: 'spot', retryable: false });
    // On-demand capacity is separate.
    await launch(gcp, 'on-demand');
    fake.setCapacity(ZONE, 'spot', 0);
    const listed = await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
    expect(listed.find((instance) => instance.id === running.id)).toMatchObject({
      state: 'preempted',
      stateReason: 'compute.instances.preempted',
    });
    expect(listed.filter((instance) => instance.capacityType === 'on-demand')).toHaveLength(1);
  });
});

describe('quota', () => {
  it('rejects launches beyond the project quota with QuotaExceededError from the operation', async () => {
    const gcp = provider();
    fake.setInstanceQuota(1);
    await launch(gcp, 'on-demand');
    const error = await launch(gcp, 'spot').catch((caught: unknown) => caught);
    expect(QuotaExceededError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toContain("Quota 'INSTANCES' exceeded");
  });
});

describe('list', () => {
  it('filters by labels in the API call and returns the original tags', async () => {
    const gcp = provider();
    const service = 'My Chat Service';
    const ours = await launch(gcp, 'spot', { service });
    await launch(gcp, 'spot', { service: 'other' });
    fake.createForeignInstance(ZONE);
    const listed = await gcp.list({ tags: serviceOwnershipTags(service) });
    expect(listed.map((instance) => instance.id)).toEqual([ours.id]);
    expect(listed[0]!.tags['spothedge-service']).toBe(service);
    const filter = fake.listQueries[fake.listQueries.length - 1]!.get('filter')!;
    expect(filter).toContain('(labels.spothedge-managed-by = "spothedge")');
    expect(filter).toMatch(/\(labels\.spothedge-service = "my_chat_service-[0-9a-f]{8}"\)/);
    // A tag value that differs only in case is another service.
    expect(await gcp.list({ tags: serviceOwnershipTags('my chat service') })).toEqual([]);
  });

  it('reads every page of every zone', async () => {
    const gcp = provider();
    fake.setMaxPageSize(2);
    const launched = [];
    for (let index = 0; index < 5; index++) launched.push(await launch(gcp, 'on-demand'));
    const listed = await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
    expect(listed.map((instance) => instance.id).sort()).toEqual(
      launched.map((instance) => instance.id).sort(),
    );
    const tokens = fake.listQueries
      .filter((query) => query.get('pageToken') !== null && query.get('pageToken') !== '')
      .map((query) => query.get('pageToken'));
    expect(tokens).toEqual(['2', '4']);
  });

  it('maps Compute Engine statuses to instance states', async () => {
    const gcp = provider();
    const cases: [CapacityType, string, string, string?][] = [
      ['on-demand', 'PROVISIONING', 'pending'],
      ['on-demand', 'STAGING', 'pending'],
      ['on-demand', 'RUNNING', 'running'],
      ['on-demand', 'STOPPING', 'stopping'],
      ['on-demand', 'SUSPENDING', 'stopping'],
      ['on-demand', 'TERMINATED', 'terminated'],
      ['spot', 'TERMINATED', 'terminated'],
      ['spot', 'PREEMPTED-TERMINATED', 'preempted', 'compute.instances.preempted'],
    ];
    for (const [capacityType, status, state, reason] of cases) {
      fake.reset();
      const instance = await launch(gcp, capacityType);
      if (status === 'PREEMPTED-TERMINATED') fake.preempt(instance.id, { mode: 'terminate' });
      else fake.setStatus(instance.id, status);
      const [listed] = await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
      expect({ status, state: listed?.state }).toEqual({ status, state });
      if (reason !== undefined) expect(listed?.stateReason).toBe(reason);
    }
  });

  it('reports a spot instance deleted by a preemption as preempted while the operation is listed', async () => {
    const gcp = provider();
    const instance = await launch(gcp, 'spot');
    await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
    fake.preempt(instance.id);
    expect(fake.instance(instance.id)).toBeUndefined();
    const listed = await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
    expect(listed).toEqual([
      expect.objectContaining({ id: instance.id, state: 'preempted', endpoint: undefined }),
    ]);
    // Another service never sees it.
    expect(await gcp.list({ tags: serviceOwnershipTags('other') })).toEqual([]);
  });

  it('uses the external address for endpoints when asked', async () => {
    const gcp = provider({ externalIp: true, endpointAddress: 'external', replicaPort: 9000 });
    const instance = await launch(gcp, 'on-demand');
    expect(instance.endpoint).toMatch(/^http:\/\/34\.1\.\d+\.\d+:9000$/);
  });
});

describe('terminate', () => {
  it('deletes an owned instance, is idempotent on 404, and refuses foreign ones', async () => {
    const gcp = provider();
    const instance = await launch(gcp, 'on-demand');
    await gcp.terminate({ instanceId: instance.id, tags: serviceOwnershipTags(SERVICE) });
    expect(fake.calls('instances.delete')).toBe(1);
    await expect
      .poll(() => fake.instance(instance.id), { timeout: 2_000, interval: 10 })
      .toBeUndefined();
    await gcp.terminate({ instanceId: instance.id, tags: serviceOwnershipTags(SERVICE) });
    const foreign = fake.createForeignInstance(ZONE);
    await expect(
      gcp.terminate({ instanceId: foreign, tags: serviceOwnershipTags(SERVICE) }),
    ).rejects.toSatisfy((error) => NotOwnedError.isInstance(error));
    expect(fake.instance(foreign)?.['status']).toBe('RUNNING');
    await expect(gcp.terminate({ instanceId: foreign, tags: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'tags',
    });
    const other = await launch(gcp, 'spot', { service: 'other' });
    await expect(
      gcp.terminate({ instanceId: other.id, tags: serviceOwnershipTags(SERVICE) }),
    ).rejects.toSatisfy((error) => NotOwnedError.isInstance(error));
  });
});

type ErrorClass = { isInstance(value: unknown): boolean; name: string };

interface ErrorCase {
  readonly name: string;
  readonly method: GceFakeMethod;
  readonly fault: GceFakeFault;
  readonly call: 'launch-spot' | 'launch-on-demand' | 'list' | 'terminate';
  readonly expected: ErrorClass;
  readonly fields?: Record<string, unknown>;
}

const operationError = (code: string, message = `${code} happened`): GceFakeFault => ({
  kind: 'operation',
  errors: [{ code, message }],
});

const http = (
  status: number,
  message: string,
  extra: Partial<Extract<GceFakeFault, { kind: 'http' }>> = {},
): GceFakeFault => ({ kind: 'http', status, message, ...extra });

const ERROR_CASES: readonly ErrorCase[] = [
  // Errors arriving in operation.error of the insert.
  ...[
    'ZONE_RESOURCE_POOL_EXHAUSTED',
    'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
    'REGION_RESOURCE_POOL_EXHAUSTED',
    'UNSUPPORTED_OPERATION',
  ].map((code): ErrorCase => ({
    name: `op.error ${code} (spot)`,
    method: 'instances.insert',
    fault: operationError(code),
    call: 'launch-spot',
    expected: CapacityUnavailableError,
    fields: { location: LOCATION, capacityType: 'spot', retryable: false },
  })),
  {
    name: 'op.error ZONE_RESOURCE_POOL_EXHAUSTED (on-demand)',
    method: 'instances.insert',
    fault: operationError('ZONE_RESOURCE_POOL_EXHAUSTED'),
    call: 'launch-on-demand',
    expected: CapacityUnavailableError,
    fields: { capacityType: 'on-demand' },
  },
  {
    name: 'op.error UNSUPPORTED_OPERATION (on-demand) is not a capacity error',
    method: 'instances.insert',
    fault: operationError('UNSUPPORTED_OPERATION'),
    call: 'launch-on-demand',
    expected: ProviderError,
    fields: { providerCode: 'UNSUPPORTED_OPERATION' },
  },
  {
    name: 'op.error QUOTA_EXCEEDED',
    method: 'instances.insert',
    fault: operationError(
      'QUOTA_EXCEEDED',
      "Quota 'CPUS' exceeded. Limit: 24.0 in region us-central1.",
    ),
    call: 'launch-spot',
    expected: QuotaExceededError,
    fields: { location: LOCATION, retryable: false },
  },
  {
    name: 'op.error with a "Quota \'…\' exceeded" message',
    method: 'instances.insert',
    fault: operationError(
      'PREEMPTIBLE_GPUS_LIMIT',
      "Quota 'PREEMPTIBLE_NVIDIA_T4_GPUS' exceeded. Limit: 0.0",
    ),
    call: 'launch-spot',
    expected: QuotaExceededError,
  },
  {
    name: 'op.error RESOURCE_OPERATION_RATE_EXCEEDED',
    method: 'instances.insert',
    fault: operationError('RESOURCE_OPERATION_RATE_EXCEEDED'),
    call: 'launch-spot',
    expected: ThrottledError,
    fields: { retryable: true },
  },
  {
    name: 'op.error INVALID_FIELD_VALUE names the setting',
    method: 'instances.insert',
    fault: operationError(
      'INVALID_FIELD_VALUE',
      "Invalid value for field 'resource.machineType': 'zz'",
    ),
    call: 'launch-spot',
    expected: InvalidConfigError,
    fields: { setting: 'machineType' },
  },
  {
    name: 'op.error RESOURCE_NOT_FOUND (image)',
    method: 'instances.insert',
    fault: operationError(
      'RESOURCE_NOT_FOUND',
      "The resource 'projects/x/global/images/nope' was not found",
    ),
    call: 'launch-spot',
    expected: InvalidConfigError,
    fields: { setting: 'image' },
  },
  {
    name: 'op.error with an unknown code',
    method: 'instances.insert',
    fault: operationError('SOMETHING_NEW'),
    call: 'launch-spot',
    expected: ProviderError,
    fields: { providerCode: 'SOMETHING_NEW' },
  },
  // Errors arriving as HTTP errors of the insert.
  {
    name: 'HTTP 429',
    method: 'instances.insert',
    fault: http(429, 'Too Many Requests', {
      reason: 'rateLimitExceeded',
      statusName: 'RESOURCE_EXHAUSTED',
    }),
    call: 'launch-spot',
    expected: ThrottledError,
  },
  {
    name: 'HTTP 403 rateLimitExceeded',
    method: 'instances.insert',
    fault: http(403, 'Rate Limit Exceeded', { reason: 'rateLimitExceeded' }),
    call: 'launch-spot',
    expected: ThrottledError,
  },
  {
    name: 'HTTP 403 with ErrorInfo RATE_LIMIT_EXCEEDED',
    method: 'instances.insert',
    fault: http(403, 'Slow down', { errorInfoReason: 'RATE_LIMIT_EXCEEDED' }),
    call: 'launch-spot',
    expected: ThrottledError,
  },
  {
    name: 'HTTP 403 RESOURCE_OPERATION_RATE_EXCEEDED',
    method: 'instances.insert',
    fault: http(403, 'Operation rate exceeded for resource (RESOURCE_OPERATION_RATE_EXCEEDED)'),
    call: 'launch-spot',
    expected: ThrottledError,
  },
  {
    name: 'HTTP 403 "Quota \'…\' exceeded"',
    method: 'instances.insert',
    fault: http(403, "Quota 'CPUS' exceeded. Limit: 8.0 in region us-central1.", {
      reason: 'quotaExceeded',
    }),
    call: 'launch-on-demand',
    expected: QuotaExceededError,
  },
  {
    name: 'HTTP 400 with a stockout code',
    method: 'instances.insert',
    fault: http(400, 'ZONE_RESOURCE_POOL_EXHAUSTED: no spot capacity'),
    call: 'launch-spot',
    expected: CapacityUnavailableError,
  },
  {
    name: 'HTTP 401',
    method: 'instances.insert',
    fault: http(401, 'Request had invalid authentication credentials.', {
      statusName: 'UNAUTHENTICATED',
    }),
    call: 'launch-spot',
    expected: AuthError,
  },
  {
    name: 'HTTP 403 permission',
    method: 'instances.insert',
    fault: http(403, "Required 'compute.instances.create' permission for 'projects/p'", {
      reason: 'forbidden',
    }),
    call: 'launch-spot',
    expected: AuthError,
  },
  {
    name: 'HTTP 400 invalid network',
    method: 'instances.insert',
    fault: http(400, "Invalid value for field 'resource.networkInterfaces[0].network': 'nope'", {
      reason: 'invalid',
    }),
    call: 'launch-spot',
    expected: InvalidConfigError,
    fields: { setting: 'network' },
  },
  {
    name: 'HTTP 404 image on insert',
    method: 'instances.insert',
    fault: http(
      404,
      "The resource 'projects/debian-cloud/global/images/family/nope' was not found",
      { reason: 'notFound' },
    ),
    call: 'launch-spot',
    expected: InvalidConfigError,
    fields: { setting: 'image' },
  },
  {
    name: 'HTTP 503 on insert',
    method: 'instances.insert',
    fault: http(503, 'Backend Error'),
    call: 'launch-spot',
    expected: ProviderError,
    fields: { retryable: true, providerCode: '503' },
  },
  {
    name: 'HTTP 503 while waiting for the operation',
    method: 'operations.wait',
    fault: http(503, 'Backend Error'),
    call: 'launch-spot',
    expected: ProviderError,
    fields: { retryable: true },
  },
  // list and terminate.
  {
    name: 'list 429',
    method: 'instances.list',
    fault: http(429, 'Too Many Requests'),
    call: 'list',
    expected: ThrottledError,
  },
  {
    name: 'list 401',
    method: 'instances.list',
    fault: http(401, 'Unauthenticated'),
    call: 'list',
    expected: AuthError,
  },
  {
    name: 'list 500',
    method: 'instances.list',
    fault: http(500, 'Internal Error'),
    call: 'list',
    expected: ProviderError,
    fields: { retryable: true },
  },
  {
    name: 'operations list 403',
    method: 'operations.list',
    fault: http(403, 'Forbidden'),
    call: 'list',
    expected: AuthError,
  },
  {
    name: 'terminate get 403',
    method: 'instances.get',
    fault: http(403, 'Forbidden'),
    call: 'terminate',
    expected: AuthError,
  },
  {
    name: 'terminate delete 429',
    method: 'instances.delete',
    fault: http(429, 'Too Many Requests'),
    call: 'terminate',
    expected: ThrottledError,
  },
  {
    name: 'terminate delete op.error RESOURCE_OPERATION_RATE_EXCEEDED',
    method: 'instances.delete',
    fault: operationError('RESOURCE_OPERATION_RATE_EXCEEDED'),
    call: 'terminate',
    expected: ThrottledError,
  },
];

describe('error mapping', () => {
  it.each(ERROR_CASES)('$name → $expected.name', async (errorCase) => {
    const gcp = provider();
    const target = errorCase.call === 'terminate' ? await launch(gcp, 'on-demand') : undefined;
    fake.failNext(errorCase.method, errorCase.fault);
    const run = (): Promise<unknown> => {
      switch (errorCase.call) {
        case 'launch-spot':
          return launch(gcp, 'spot');
        case 'launch-on-demand':
          return launch(gcp, 'on-demand');
        case 'list':
          return gcp.list({ tags: serviceOwnershipTags(SERVICE) });
        case 'terminate':
          return gcp.terminate({ instanceId: target!.id, tags: serviceOwnershipTags(SERVICE) });
      }
    };
    const error = await run().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(SpotHedgeError.isInstance(error), String(error)).toBe(true);
    expect(errorCase.expected.isInstance(error), `${String(error)}`).toBe(true);
    if (errorCase.fields !== undefined) expect(error).toMatchObject(errorCase.fields);
    // A rejected launch leaves nothing alive (except when the wait itself failed: then the
    // instance may exist, and list shows it for the caller to adopt).
    if (errorCase.call.startsWith('launch') && errorCase.method !== 'operations.wait') {
      const alive = (await gcp.list({ tags: serviceOwnershipTags(SERVICE) })).filter(
        (instance) => instance.state === 'pending' || instance.state === 'running',
      );
      expect(alive).toEqual([]);
    }
  });
});

describe('prices', () => {
  it('composes machine prices from catalog vCPU, memory and GPU SKUs, and caches them', async () => {
    fake.setSkus(catalogSkuFixtures);
    fake.setCatalogPageSize(3);
    const gcp = provider({
      machineType: 'g2-standard-8',
      pricing: { catalogEndpoint: fake.url },
    });
    const offerings = await gcp.offerings();
    const spot = offerings.find(
      (offering) => offering.location === LOCATION && offering.capacityType === 'spot',
    )!;
    const onDemand = offerings.find(
      (offering) => offering.location === LOCATION && offering.capacityType === 'on-demand',
    )!;
    // g2-standard-8: 8 vCPU, 32 GB, 1 L4.
    expect(onDemand.hourlyPrice).toBeCloseTo(8 * 0.025 + 32 * 0.003 + 1 * 0.5, 6);
    expect(spot.hourlyPrice).toBeCloseTo(8 * 0.01 + 32 * 0.001 + 1 * 0.2, 6);
    expect(spot.priceAsOf).toBeTypeOf('number');
    expect(offerings).toHaveLength(4);
    const pages = fake.calls('catalog.skus');
    expect(pages).toBeGreaterThan(1);
    await gcp.offerings();
    expect(fake.calls('catalog.skus')).toBe(pages);
    // The catalog was read with the auth client's headers.
    expect(fake.authorizations).toContain('Bearer spothedge-static-token');
  });

  it('falls back to the built-in table when the catalog fails, and applies overrides', async () => {
    fake.failNext('catalog.skus', { kind: 'http', status: 403, message: 'denied' });
    const gcp = provider({
      pricing: {
        catalogEndpoint: fake.url,
        overrides: { 'us-central1/n2-standard-4': { spot: 0.05 } },
      },
    });
    const offerings = await gcp.offerings();
    const onDemand = offerings.find((offering) => offering.capacityType === 'on-demand')!;
    expect(onDemand.hourlyPrice).toBeCloseTo(4 * 0.031611 + 16 * 0.004237, 6);
    expect(onDemand.priceAsOf).toBeUndefined();
    expect(
      offerings
        .filter((offering) => offering.capacityType === 'spot')
        .map((offering) => offering.hourlyPrice),
    ).toEqual([0.05, 0.05]);
  });
});

describe('credentials', () => {
  it('uses only the explicit auth client: no credential lookup, no metadata server', async () => {
    // A provider that builds its own clients from `authClient` and `apiEndpoint`.
    const gcp = createGcpProvider({
      project: fake.project,
      zones: [ZONE],
      machineType: 'n2-standard-4',
      image: 'projects/debian-cloud/global/images/family/debian-12',
      authClient: createStaticAuthClient({ accessToken: 'token-42' }),
      apiEndpoint: fake.url,
      pricing: { catalogEndpoint: fake.url },
    });
    const instance = await launch(gcp, 'spot');
    await gcp.list({ tags: serviceOwnershipTags(SERVICE) });
    await gcp.offerings();
    await gcp.terminate({ instanceId: instance.id, tags: serviceOwnershipTags(SERVICE) });
    await gcp.close();
    expect(new Set(fake.authorizations)).toEqual(new Set(['Bearer token-42']));
    expect(metadataRequests).toEqual([]);
    await expect(gcp.list({ tags: {} })).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
  });

  it('requires an auth client or a client factory', () => {
    expect(() =>
      createGcpProvider({
        project: fake.project,
        zones: [ZONE],
        machineType: 'n2-standard-4',
        image: 'projects/debian-cloud/global/images/family/debian-12',
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', setting: 'authClient' }));
  });

  it('also checked no request reached the metadata server in any earlier test', () => {
    expect(metadataRequests).toEqual([]);
    expect(fake.authorizations.every((header) => header.startsWith('Bearer '))).toBe(true);
  });
});

// The core conformance suite, through the real clients against the fake.
runProviderConformanceSuite({
  name: 'gcp (Compute Engine fake server)',
  timeoutMs: 5_000,
  createHarness() {
    fake.reset();
    const gcp = provider();
    return {
      provider: gcp,
      location: LOCATION,
      instanceType: 'n2-standard-4',
      unknownInstanceId: `${ZONE}/spothedge-does-not-exist`,
      exhaustSpotCapacity: () => fake.setCapacity(ZONE, 'spot', 0),
      preempt: (instanceId) => fake.preempt(instanceId),
      createForeignInstance: (location) => fake.createForeignInstance(location.split('/')[2]!),
      instanceExists: (instanceId) => {
        const status = fake.instance(instanceId)?.['status'];
        return status !== undefined && status !== 'TERMINATED';
      },
    };
  },
});
