import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  ProviderError,
  QuotaExceededError,
  ReplicaTag,
  ThrottledError,
  replicaOwnershipTags,
  serviceOwnershipTags,
  type LaunchRequest,
} from '@spothedge/core';
import { createGpuCloudProvider } from './gpu-cloud-provider.js';
import { mapGpuCloudError, parseRetryAfter } from './map-gpu-cloud-error.js';
import {
  WEBHOOK_SECRET,
  startGpuCloudSetup,
  type GpuCloudSetup,
} from './testing/gpu-cloud-harness.js';

const setups: GpuCloudSetup[] = [];
afterEach(async () => {
  await Promise.all(setups.splice(0).map((setup) => setup.close()));
});

async function setup(
  options: Parameters<typeof startGpuCloudSetup>[0] = {},
): Promise<GpuCloudSetup> {
  const started = await startGpuCloudSetup(options);
  setups.push(started);
  return started;
}

function launchRequest(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  const capacityType = overrides.capacityType ?? 'spot';
  return {
    location: 'gpu-cloud/us-east',
    capacityType,
    instanceType: 'h100-80gb',
    tags: replicaOwnershipTags({ service: 'chat', replicaId: 'r1', capacityType }),
    idempotencyKey: 'chat-r1',
    ...overrides,
  };
}

describe('createGpuCloudProvider settings', () => {
  it('rejects bad settings eagerly, naming the setting and the value', () => {
    const good = { apiKey: 'k', regions: ['us-east'] };
    const attempts: [Record<string, unknown>, string][] = [
      [{ ...good, apiKey: '' }, 'apiKey'],
      [{ ...good, regions: [] }, 'regions'],
      [{ ...good, regions: ['US East'] }, 'regions'],
      [{ ...good, baseUrl: 'not a url' }, 'baseUrl'],
      [{ ...good, replicaPort: 0 }, 'replicaPort'],
      [{ ...good, webhookSecret: '' }, 'webhookSecret'],
      [{ ...good, requestTimeoutMs: -1 }, 'requestTimeoutMs'],
    ];
    for (const [settings, setting] of attempts) {
      let caught: unknown;
      try {
        createGpuCloudProvider(settings as never);
      } catch (error) {
        caught = error;
      }
      expect(InvalidConfigError.isInstance(caught), setting).toBe(true);
      expect(caught).toMatchObject({ setting });
      expect((caught as Error).message).toContain(`\`${setting}\``);
    }
  });

  it('has the interruptions capability only with a webhook secret', () => {
    expect(createGpuCloudProvider({ apiKey: 'k', regions: ['us-east'] }).interruptions).toBe(
      undefined,
    );
    const withSecret = createGpuCloudProvider({
      apiKey: 'k',
      regions: ['us-east', 'eu-west'],
      webhookSecret: 's',
    });
    expect(typeof withSecret.interruptions).toBe('function');
    expect(withSecret.locations().map((location) => location.id)).toEqual([
      'gpu-cloud/us-east',
      'gpu-cloud/eu-west',
    ]);
  });
});

describe('error mapping', () => {
  const now = () => Date.parse('2026-01-01T00:00:00Z');
  const map = (status: number, code: string | undefined, retryAfter: string | null = null) =>
    mapGpuCloudError(
      { status, code, message: 'x', retryAfter },
      { location: 'gpu-cloud/us-east', capacityType: 'spot', now },
    );

  it('maps each cloud answer to the typed error the engine acts on', () => {
    const capacity = map(409, 'no_capacity');
    expect(CapacityUnavailableError.isInstance(capacity)).toBe(true);
    expect(capacity).toMatchObject({
      retryable: false,
      location: 'gpu-cloud/us-east',
      capacityType: 'spot',
    });
    expect(map(429, 'rate_limited', '7')).toMatchObject({
      code: 'THROTTLED',
      retryable: true,
      retryAfterMs: 7_000,
    });
    expect(QuotaExceededError.isInstance(map(403, 'quota_exceeded'))).toBe(true);
    expect(AuthError.isInstance(map(401, 'unauthorized'))).toBe(true);
    expect(InvalidConfigError.isInstance(map(400, 'invalid_request'))).toBe(true);
    expect(map(503, 'internal')).toMatchObject({
      code: 'PROVIDER_FAILURE',
      retryable: true,
      providerCode: 'internal',
    });
    expect(map(422, undefined)).toMatchObject({
      code: 'PROVIDER_FAILURE',
      retryable: false,
      providerCode: '422',
    });
    // A 409 that is not about capacity is not a capacity error.
    expect(CapacityUnavailableError.isInstance(map(409, 'conflict'))).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2', now())).toBe(2_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now())).toBe(30_000);
    expect(parseRetryAfter('soon', now())).toBe(undefined);
    expect(parseRetryAfter(null, now())).toBe(undefined);
  });
});

describe('GpuCloudProvider against the fake API', () => {
  it('launches idempotently, tags at creation and reports the endpoint once running', async () => {
    const { cloud, provider } = await setup({ settings: { replicaPort: 9000 } });
    const first = await provider.launch(launchRequest());
    const again = await provider.launch(launchRequest());
    expect(again.id).toBe(first.id);
    expect(first.state).toBe('pending');
    expect(cloud.instances()).toHaveLength(1);
    expect(cloud.instance(first.id)).toMatchObject({ spot: true, idempotencyKey: 'chat-r1' });
    const [listed] = await provider.list({ tags: serviceOwnershipTags('chat') });
    expect(listed).toMatchObject({ state: 'running', location: 'gpu-cloud/us-east' });
    expect(listed?.endpoint).toMatch(/^http:\/\/10\.0\.\d+\.\d+:9000$/);
  });

  it("builds the endpoint from the service's port tag when replicaPort is not set", async () => {
    const { provider } = await setup();
    const tags = { ...launchRequest().tags, [ReplicaTag.Port]: '8081' };
    await provider.launch(launchRequest({ tags }));
    const [listed] = await provider.list({ tags: serviceOwnershipTags('chat') });
    expect(listed?.endpoint).toMatch(/^http:\/\/10\.0\.\d+\.\d+:8081$/);
  });

  it('maps a 429 with Retry-After to ThrottledError and leaves nothing', async () => {
    const { cloud, provider } = await setup();
    cloud.failNext({ status: 429, code: 'rate_limited', retryAfter: '3', method: 'POST' });
    const error = await provider.launch(launchRequest()).catch((caught: unknown) => caught);
    expect(ThrottledError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ retryAfterMs: 3_000, retryable: true });
    expect(cloud.instances()).toEqual([]);
  });

  it('maps a 409 no_capacity to CapacityUnavailableError for that location', async () => {
    const { cloud, provider } = await setup();
    cloud.setCapacity('eu-west', { spot: true, count: 0 });
    const error = await provider
      .launch(launchRequest({ location: 'gpu-cloud/eu-west' }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'CAPACITY_UNAVAILABLE',
      location: 'gpu-cloud/eu-west',
      capacityType: 'spot',
    });
    // On-demand in the same region is a separate pool.
    await provider.launch(
      launchRequest({
        location: 'gpu-cloud/eu-west',
        capacityType: 'on-demand',
        idempotencyKey: 'od',
      }),
    );
  });

  it('rejects list as a whole when a later page fails (never a partial list)', async () => {
    const { cloud, provider } = await setup({ cloud: { pageSize: 1 } });
    await provider.launch(launchRequest());
    await provider.launch(launchRequest({ idempotencyKey: 'chat-r2' }));
    cloud.failNext({ status: 500, code: 'internal', method: 'GET', times: 1 });
    // The first GET fails: the whole list fails, retryable.
    const error = await provider
      .list({ tags: serviceOwnershipTags('chat') })
      .catch((caught: unknown) => caught);
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ retryable: true });
    expect(await provider.list({ tags: serviceOwnershipTags('chat') })).toHaveLength(2);
  });

  it('refuses to terminate with an empty tag set', async () => {
    const { cloud, provider } = await setup();
    const foreign = cloud.createForeignInstance('us-east');
    await expect(provider.terminate({ instanceId: foreign, tags: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'tags',
    });
    expect(cloud.instance(foreign)?.status).toBe('running');
  });

  it('turns a network failure into a retryable ProviderError', async () => {
    const { provider } = await setup({ settings: { baseUrl: 'http://127.0.0.1:1' } });
    await expect(provider.offerings()).rejects.toMatchObject({
      code: 'PROVIDER_FAILURE',
      retryable: true,
    });
  });

  it('caches prices and offers both capacity types per configured region', async () => {
    const { cloud, provider } = await setup({ settings: { regions: ['us-east'] } });
    const offerings = await provider.offerings();
    await provider.offerings();
    expect(
      offerings.map((offering) => [offering.location, offering.capacityType, offering.hourlyPrice]),
    ).toEqual([
      ['gpu-cloud/us-east', 'spot', 2.1],
      ['gpu-cloud/us-east', 'on-demand', 6.3],
    ]);
    expect(cloud.requests.filter((request) => request.path === '/v1/prices')).toHaveLength(1);
  });
});

describe('preemption-notice webhook', () => {
  function sign(body: string, secret = WEBHOOK_SECRET): string {
    return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  }

  it('records signed notices, reports them for the owning service only, then forgets them', async () => {
    let now = Date.parse('2026-01-01T00:01:00Z');
    const { provider } = await setup({ settings: { now: () => now } });
    const body = JSON.stringify({
      type: 'instance.preemption_notice',
      instance_id: 'gi-0001',
      labels: serviceOwnershipTags('chat'),
      reclaim_at: '2026-01-01T00:02:00Z',
      sent_at: '2026-01-01T00:00:00Z',
    });
    provider.handleWebhook({ body, signature: sign(body) });
    const ours = await provider.interruptions!({ tags: serviceOwnershipTags('chat') });
    expect(ours).toEqual([
      {
        instanceId: 'gi-0001',
        noticedAt: Date.parse('2026-01-01T00:00:00Z'),
        deadline: Date.parse('2026-01-01T00:02:00Z'),
      },
    ]);
    expect(await provider.interruptions!({ tags: serviceOwnershipTags('other') })).toEqual([]);
    now = Date.parse('2026-01-01T00:13:00Z'); // ten minutes past the deadline
    expect(await provider.interruptions!({ tags: serviceOwnershipTags('chat') })).toEqual([]);
  });

  it('refuses unsigned or forged deliveries and ignores unknown event types', async () => {
    const { provider } = await setup();
    const body = JSON.stringify({
      type: 'instance.preemption_notice',
      instance_id: 'x',
      labels: {},
    });
    expect(() => provider.handleWebhook({ body, signature: undefined })).toThrow(/signature/);
    expect(() => provider.handleWebhook({ body, signature: sign(body, 'wrong') })).toThrow(
      /signature/,
    );
    const future = JSON.stringify({ type: 'instance.migrated', instance_id: 'x' });
    provider.handleWebhook({ body: future, signature: sign(future) });
    expect(() => provider.handleWebhook({ body: '{', signature: sign('{') })).toThrow(/JSON/);
    expect(await provider.interruptions!({ tags: {} })).toEqual([]);
  });

  it('answers 401 over HTTP to a forged delivery, 204 to a signed one', async () => {
    const { cloud, provider } = await setup();
    const launched = await provider.launch(launchRequest());
    cloud.setWebhook(webhookUrlOf(cloud), 'not-the-secret');
    await expect(cloud.sendPreemptionNotice(launched.id)).rejects.toThrow('401');
    cloud.setWebhook(webhookUrlOf(cloud), WEBHOOK_SECRET);
    await cloud.sendPreemptionNotice(launched.id);
    const notices = await provider.interruptions!({ tags: serviceOwnershipTags('chat') });
    expect(notices.map((notice) => notice.instanceId)).toEqual([launched.id]);
    const response = await fetch(webhookUrlOf(cloud), { method: 'GET' });
    expect(response.status).toBe(405);
    await response.body?.cancel();
  });
});

function webhookUrlOf(cloud: GpuCloudSetup['cloud']): string {
  return cloud.webhookUrl!;
}
