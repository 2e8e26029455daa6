import { EC2Client } from '@aws-sdk/client-ec2';
import {
  AbortedError,
  AuthError,
  CapacityUnavailableError,
  IllegalStateError,
  InvalidArgumentError,
  InvalidConfigError,
  ManualClock,
  NotOwnedError,
  ProviderError,
  QuotaExceededError,
  ReplicaTag,
  ThrottledError,
  replicaOwnershipTags,
  serviceOwnershipTags,
} from '@spothedge/core';
import type { CapacityType, LaunchRequest, SpotHedgeError } from '@spothedge/core';
import { runProviderConformanceSuite } from '@spothedge/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsProvider } from './aws-provider.js';
import type { AwsProvider } from './aws-provider.js';
import type { AwsProviderSettings } from './aws-provider-settings.js';
import { EC2_ERROR_KINDS } from './map-ec2-error.js';
import { Ec2Fake } from './testing/ec2-fake.js';

// Keep the AWS SDK quiet and away from real credentials and the metadata service.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';

const EAST = 'us-east-1';
const WEST = 'us-west-2';
const IMAGE = 'ami-0123456789abcdef0';
const TYPE = 'g5.xlarge';
const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

let fake: Ec2Fake;
let serviceCounter = 0;

beforeAll(async () => {
  fake = await Ec2Fake.start({
    regions: { [EAST]: ['us-east-1a', 'us-east-1b'], [WEST]: ['us-west-2a'] },
    instanceTypes: [TYPE, 'g4dn.xlarge'],
    spotPrice: 0.35,
  });
});

afterAll(async () => {
  await fake.close();
});

function settings(overrides: Partial<AwsProviderSettings> = {}): AwsProviderSettings {
  return {
    regions: {
      [EAST]: { zones: ['us-east-1a', 'us-east-1b'], subnets: { 'us-east-1b': 'subnet-0b' } },
      [WEST]: { zones: ['us-west-2a'], imageId: 'ami-0aaaaaaaaaaaaaaaa' },
    },
    instanceType: [TYPE, 'g4dn.xlarge'],
    imageId: IMAGE,
    endpoint: fake.endpoint,
    credentials: CREDENTIALS,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...overrides,
  };
}

/** A fresh service name per test, so tests sharing the fake never see each other. */
function newService(): string {
  serviceCounter += 1;
  return `svc-${serviceCounter}`;
}

function launchRequest(options: {
  service: string;
  replicaId: string;
  capacityType?: CapacityType;
  location?: string;
  key?: string;
  startupScript?: string;
  port?: number;
}): LaunchRequest {
  const capacityType = options.capacityType ?? 'spot';
  return {
    location: options.location ?? `aws/${EAST}/us-east-1a`,
    capacityType,
    instanceType: TYPE,
    tags: {
      ...replicaOwnershipTags({
        service: options.service,
        replicaId: options.replicaId,
        capacityType,
      }),
      ...(options.port === undefined ? {} : { [ReplicaTag.Port]: String(options.port) }),
    },
    idempotencyKey: options.key ?? `${options.service}-${options.replicaId}`,
    startupScript: options.startupScript,
  };
}

async function withProvider<T>(
  overrides: Partial<AwsProviderSettings>,
  body: (provider: AwsProvider) => Promise<T>,
): Promise<T> {
  const provider = createAwsProvider(settings(overrides));
  try {
    return await body(provider);
  } finally {
    await provider.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<SpotHedgeError> {
  try {
    await promise;
  } catch (error) {
    return error as SpotHedgeError;
  }
  throw new Error('expected the call to reject');
}

describe('AwsProvider against the EC2 fake', () => {
  it('lists one location per configured zone, with aws/<region>/<zone> ids', () => {
    const provider = createAwsProvider(settings());
    expect(provider.specificationVersion).toBe('v1');
    expect(provider.locations().map((location) => location.id)).toEqual([
      'aws/us-east-1/us-east-1a',
      'aws/us-east-1/us-east-1b',
      'aws/us-west-2/us-west-2a',
    ]);
    expect(provider.locations()[2]).toEqual({
      id: 'aws/us-west-2/us-west-2a',
      cloud: 'aws',
      region: WEST,
      zone: 'us-west-2a',
    });
  });

  it('launches spot with one-time/terminate market options, tags, client token, user data and placement', async () => {
    const service = newService();
    await withProvider(
      {
        tags: { team: 'ml' },
        iamInstanceProfile: 'arn:aws:iam::123456789012:instance-profile/replica',
        keyName: 'ops',
        securityGroupIds: ['sg-0123'],
        replicaPort: 8080,
      },
      async (provider) => {
        const instance = await provider.launch(
          launchRequest({
            service,
            replicaId: 'r-1',
            location: `aws/${EAST}/us-east-1b`,
            startupScript: '#!/bin/sh\necho ready\n',
          }),
        );
        expect(instance).toMatchObject({
          location: `aws/${EAST}/us-east-1b`,
          instanceType: TYPE,
          capacityType: 'spot',
          state: 'pending',
        });
        expect(instance.endpoint).toMatch(/^http:\/\/10\.\d+\.\d+\.\d+:8080$/);
        expect(instance.tags).toMatchObject({ team: 'ml', 'spothedge-replica': 'r-1' });
        const stored = fake.instance(instance.id);
        expect(stored?.userData).toBe('#!/bin/sh\necho ready\n');
        expect(stored?.subnetId).toBe('subnet-0b');
        expect(stored?.launchParams).toMatchObject({
          ImageId: IMAGE,
          InstanceType: TYPE,
          MinCount: '1',
          MaxCount: '1',
          ClientToken: `${service}-r-1`,
          'Placement.AvailabilityZone': 'us-east-1b',
          SubnetId: 'subnet-0b',
          'SecurityGroupId.1': 'sg-0123',
          KeyName: 'ops',
          'IamInstanceProfile.Arn': 'arn:aws:iam::123456789012:instance-profile/replica',
          'InstanceMarketOptions.MarketType': 'spot',
          'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'one-time',
          'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'terminate',
          'TagSpecification.1.ResourceType': 'instance',
          'TagSpecification.2.ResourceType': 'volume',
        });
      },
    );
  });

  it('launches on-demand without market options, using the settings startup script and region AMI', async () => {
    const service = newService();
    await withProvider(
      { startupScript: 'echo default', iamInstanceProfile: 'replica-profile' },
      async (provider) => {
        const instance = await provider.launch(
          launchRequest({
            service,
            replicaId: 'r-1',
            capacityType: 'on-demand',
            location: `aws/${WEST}/us-west-2a`,
          }),
        );
        expect(instance.capacityType).toBe('on-demand');
        const stored = fake.instance(instance.id);
        expect(stored?.spot).toBe(false);
        expect(stored?.region).toBe(WEST);
        expect(stored?.userData).toBe('echo default');
        expect(stored?.launchParams['ImageId']).toBe('ami-0aaaaaaaaaaaaaaaa');
        expect(stored?.launchParams['IamInstanceProfile.Name']).toBe('replica-profile');
        expect(stored?.launchParams['InstanceMarketOptions.MarketType']).toBeUndefined();
      },
    );
  });

  it('is idempotent under the same key: one RunInstances result, one instance', async () => {
    const service = newService();
    await withProvider({}, async (provider) => {
      const request = launchRequest({ service, replicaId: 'r-1', key: `${service}-same` });
      const first = await provider.launch(request);
      const second = await provider.launch(request);
      expect(second.id).toBe(first.id);
      const listed = await provider.list({ tags: serviceOwnershipTags(service) });
      expect(listed.map((instance) => instance.id)).toEqual([first.id]);
      // The same key with different parameters is the caller's bug, not a new instance.
      const mismatch = await rejection(
        provider.launch({ ...request, capacityType: 'on-demand', tags: { ...request.tags } }),
      );
      expect(InvalidArgumentError.isInstance(mismatch)).toBe(true);
      expect((mismatch as InvalidArgumentError).argument).toBe('idempotencyKey');
    });
  });

  it('lists by tags across both regions and every page', async () => {
    const service = newService();
    await withProvider({ pageSize: 5 }, async (provider) => {
      const launched: string[] = [];
      for (let index = 0; index < 7; index += 1) {
        launched.push(
          (await provider.launch(launchRequest({ service, replicaId: `e-${index}` }))).id,
        );
      }
      for (let index = 0; index < 6; index += 1) {
        launched.push(
          (
            await provider.launch(
              launchRequest({
                service,
                replicaId: `w-${index}`,
                capacityType: 'on-demand',
                location: `aws/${WEST}/us-west-2a`,
              }),
            )
          ).id,
        );
      }
      // Noise: another service and a foreign instance in the same zones.
      await provider.launch(launchRequest({ service: `${service}-other`, replicaId: 'x' }));
      fake.createForeignInstance('us-east-1a');
      const before = fake.requests.length;
      const listed = await provider.list({ tags: serviceOwnershipTags(service) });
      expect(listed.map((instance) => instance.id).sort()).toEqual([...launched].sort());
      expect(new Set(listed.map((instance) => instance.location))).toEqual(
        new Set([`aws/${EAST}/us-east-1a`, `aws/${WEST}/us-west-2a`]),
      );
      expect(listed.every((instance) => instance.state === 'running')).toBe(true);
      // 7 east instances at 5 per page = 2 pages; 6 west = 2 pages.
      const describes = fake.requests
        .slice(before)
        .filter((request) => request.action === 'DescribeInstances');
      expect(describes.map((request) => request.region).sort()).toEqual([EAST, EAST, WEST, WEST]);
      expect(describes.filter((request) => request.params['NextToken'] !== undefined)).toHaveLength(
        2,
      );
      const byReplica = await provider.list({
        tags: { ...serviceOwnershipTags(service), 'spothedge-replica': 'w-3' },
      });
      expect(byReplica).toHaveLength(1);
      expect(byReplica[0]?.location).toBe(`aws/${WEST}/us-west-2a`);
    });
  });

  it('shows a spot interruption as preempted through list, then keeps it preempted once terminated', async () => {
    const service = newService();
    const slowFake = await Ec2Fake.start({
      regions: { [EAST]: ['us-east-1a'] },
      pendingMs: 30_000,
      shuttingDownMs: 120_000,
    });
    const provider = createAwsProvider({
      regions: { [EAST]: { zones: ['us-east-1a'] } },
      instanceType: TYPE,
      imageId: IMAGE,
      endpoint: slowFake.endpoint,
      credentials: CREDENTIALS,
    });
    try {
      const instance = await provider.launch(launchRequest({ service, replicaId: 'r-1' }));
      const tags = serviceOwnershipTags(service);
      expect((await provider.list({ tags }))[0]?.state).toBe('pending');
      slowFake.advance(30_000);
      expect((await provider.list({ tags }))[0]?.state).toBe('running');
      slowFake.preempt(instance.id);
      expect(slowFake.instance(instance.id)?.state).toBe('shutting-down');
      const preempted = (await provider.list({ tags }))[0];
      expect(preempted).toMatchObject({
        id: instance.id,
        state: 'preempted',
        stateReason: 'Server.SpotInstanceTermination',
      });
      slowFake.advance(120_000);
      expect(slowFake.instance(instance.id)?.state).toBe('terminated');
      expect((await provider.list({ tags }))[0]?.state).toBe('preempted');
      // Terminating a preempted instance is a no-op that resolves.
      await provider.terminate({ instanceId: instance.id, tags });
      // Gone once EC2 forgets it.
      slowFake.advance(3_600_000);
      expect(await provider.list({ tags })).toEqual([]);
    } finally {
      await provider.close();
      await slowFake.close();
    }
  });

  it('reports a user-initiated termination as stopping, then terminated', async () => {
    const service = newService();
    const slowFake = await Ec2Fake.start({
      regions: { [EAST]: ['us-east-1a'] },
      shuttingDownMs: 60_000,
    });
    const provider = createAwsProvider({
      regions: { [EAST]: { zones: ['us-east-1a'] } },
      instanceType: TYPE,
      imageId: IMAGE,
      endpoint: slowFake.endpoint,
      credentials: CREDENTIALS,
    });
    try {
      const tags = serviceOwnershipTags(service);
      const instance = await provider.launch(launchRequest({ service, replicaId: 'r-1' }));
      await provider.terminate({ instanceId: instance.id, tags });
      expect((await provider.list({ tags }))[0]).toMatchObject({
        state: 'stopping',
        stateReason: 'Client.UserInitiatedShutdown',
      });
      slowFake.advance(60_000);
      expect((await provider.list({ tags }))[0]?.state).toBe('terminated');
      const terminates = slowFake.requestCount('TerminateInstances');
      await provider.terminate({ instanceId: instance.id, tags });
      expect(slowFake.requestCount('TerminateInstances')).toBe(terminates);
    } finally {
      await provider.close();
      await slowFake.close();
    }
  });

  it('preempts the newest spot instances when a zone loses capacity on a schedule', async () => {
    const service = newService();
    await withProvider({}, async (provider) => {
      const zone = 'us-west-2a';
      const location = `aws/${WEST}/${zone}`;
      const first = await provider.launch(launchRequest({ service, replicaId: 'a', location }));
      const second = await provider.launch(launchRequest({ service, replicaId: 'b', location }));
      fake.scheduleSpotCapacity([{ at: fake.now() + 1_000, zone, capacity: 1 }]);
      fake.advance(1_000);
      const listed = await provider.list({ tags: serviceOwnershipTags(service) });
      const states = Object.fromEntries(listed.map((instance) => [instance.id, instance.state]));
      expect(states[first.id]).toBe('running');
      expect(states[second.id]).toBe('preempted');
      const error = await rejection(
        provider.launch(launchRequest({ service, replicaId: 'c', location })),
      );
      expect(CapacityUnavailableError.isInstance(error)).toBe(true);
      fake.setSpotCapacity(zone, Number.POSITIVE_INFINITY);
    });
  });

  it('terminates only instances carrying the ownership tags', async () => {
    const service = newService();
    await withProvider({}, async (provider) => {
      const tags = serviceOwnershipTags(service);
      const foreignId = fake.createForeignInstance('us-west-2a');
      const refused = await rejection(provider.terminate({ instanceId: foreignId, tags }));
      expect(NotOwnedError.isInstance(refused)).toBe(true);
      expect((refused as NotOwnedError).instanceId).toBe(foreignId);
      const other = await provider.launch(
        launchRequest({ service: `${service}-b`, replicaId: 'r-1' }),
      );
      expect(
        NotOwnedError.isInstance(
          await rejection(provider.terminate({ instanceId: other.id, tags })),
        ),
      ).toBe(true);
      expect(fake.instance(foreignId)?.state).toBe('running');
      expect(fake.instance(other.id)?.state).toBe('running');
      // Unknown and malformed ids resolve (idempotent), and nothing is terminated.
      const terminates = fake.requestCount('TerminateInstances');
      await provider.terminate({ instanceId: 'i-0fedcba9876543210', tags });
      await provider.terminate({ instanceId: 'not-an-instance', tags });
      expect(fake.requestCount('TerminateInstances')).toBe(terminates);
      // An empty tag set would make every instance "ours": refused as a bad argument.
      expect(
        InvalidArgumentError.isInstance(
          await rejection(provider.terminate({ instanceId: other.id, tags: {} })),
        ),
      ).toBe(true);
      await provider.terminate({
        instanceId: other.id,
        tags: serviceOwnershipTags(`${service}-b`),
      });
      expect(fake.instance(other.id)?.state).toBe('terminated');
    });
  });

  it('finds the region of an instance it has not seen before terminating it', async () => {
    const service = newService();
    let instanceId = '';
    await withProvider({}, async (provider) => {
      instanceId = (
        await provider.launch(
          launchRequest({ service, replicaId: 'r-1', location: `aws/${WEST}/us-west-2a` }),
        )
      ).id;
    });
    await withProvider({}, async (provider) => {
      await provider.terminate({ instanceId, tags: serviceOwnershipTags(service) });
    });
    expect(fake.instance(instanceId)?.state).toBe('terminated');
  });

  it('surfaces capacity errors at once: the fake receives exactly one RunInstances', async () => {
    const service = newService();
    const zone = 'us-east-1b';
    fake.setSpotCapacity(zone, 0);
    try {
      await withProvider({ retry: { maxAttempts: 5, baseDelayMs: 1 } }, async (provider) => {
        const before = fake.requestCount('RunInstances');
        const error = await rejection(
          provider.launch(
            launchRequest({ service, replicaId: 'r-1', location: `aws/${EAST}/${zone}` }),
          ),
        );
        expect(CapacityUnavailableError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({
          location: `aws/${EAST}/${zone}`,
          capacityType: 'spot',
          retryable: false,
        });
        expect(fake.requestCount('RunInstances') - before).toBe(1);
        expect(fake.requests.at(-1)).toMatchObject({
          status: 500,
          errorCode: 'InsufficientInstanceCapacity',
        });
        expect(await provider.list({ tags: serviceOwnershipTags(service) })).toEqual([]);
      });
    } finally {
      fake.setSpotCapacity(zone, Number.POSITIVE_INFINITY);
    }
  });

  it('retries a throttling burst with backoff and succeeds; gives up with ThrottledError', async () => {
    const service = newService();
    await withProvider(
      { retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 } },
      async (provider) => {
        fake.throttle(3, { action: 'DescribeInstances' });
        const before =
          fake.requestCount('DescribeInstances', EAST) +
          fake.requestCount('DescribeInstances', WEST);
        await expect(provider.list({ tags: serviceOwnershipTags(service) })).resolves.toEqual([]);
        const after =
          fake.requestCount('DescribeInstances', EAST) +
          fake.requestCount('DescribeInstances', WEST);
        expect(after - before).toBe(5); // 3 throttled + one success per region
        fake.throttle(4, { action: 'RunInstances' });
        const error = await rejection(
          provider.launch(launchRequest({ service, replicaId: 'r-1' })),
        );
        expect(ThrottledError.isInstance(error)).toBe(true);
        expect(error.retryable).toBe(true);
        expect(await provider.list({ tags: serviceOwnershipTags(service) })).toEqual([]);
      },
    );
  });

  it('retries a 5xx on launch under the same client token, creating one instance', async () => {
    const service = newService();
    await withProvider({}, async (provider) => {
      fake.injectError({ action: 'RunInstances', code: 'InternalError', status: 500, count: 1 });
      const instance = await provider.launch(launchRequest({ service, replicaId: 'r-1' }));
      const listed = await provider.list({ tags: serviceOwnershipTags(service) });
      expect(listed.map((item) => item.id)).toEqual([instance.id]);
    });
  });

  describe('maps every EC2 error code of the table', () => {
    const expected = {
      capacity: CapacityUnavailableError,
      quota: QuotaExceededError,
      throttled: ThrottledError,
      auth: AuthError,
      'invalid-config': InvalidConfigError,
    } as const;
    const cases = Object.entries(EC2_ERROR_KINDS).map(([code, kind]) => ({
      code: code.replace('.*', '.NotFound'),
      kind,
    }));
    it.each(cases)('$code → $kind', async ({ code, kind }) => {
      const service = newService();
      await withProvider({ retry: { maxAttempts: 1 } }, async (provider) => {
        fake.injectError({ action: 'RunInstances', code, status: kind === 'capacity' ? 500 : 400 });
        const error = await rejection(
          provider.launch(launchRequest({ service, replicaId: 'r-1' })),
        );
        expect(expected[kind].isInstance(error)).toBe(true);
        expect((error.cause as { name?: string }).name).toBe(code);
        expect(error.message).toContain(code);
        expect(error.retryable).toBe(kind === 'throttled');
        if (kind === 'capacity' || kind === 'quota') {
          expect(error).toMatchObject({ location: `aws/${EAST}/us-east-1a`, capacityType: 'spot' });
        }
      });
    });

    it('names the setting behind an invalid-config error', async () => {
      await withProvider({ retry: { maxAttempts: 1 } }, async (provider) => {
        fake.injectError({ action: 'RunInstances', code: 'InvalidAMIID.NotFound' });
        const error = await rejection(
          provider.launch(launchRequest({ service: newService(), replicaId: 'r' })),
        );
        expect(error).toMatchObject({ setting: 'imageId', value: IMAGE });
        fake.injectError({ action: 'RunInstances', code: 'InvalidSubnetID.NotFound' });
        const subnetError = await rejection(
          provider.launch(
            launchRequest({
              service: newService(),
              replicaId: 'r',
              location: `aws/${EAST}/us-east-1b`,
            }),
          ),
        );
        expect(subnetError).toMatchObject({ setting: 'subnets', value: 'subnet-0b' });
      });
    });

    it('keeps unknown codes as ProviderError with the cause; 5xx are retryable', async () => {
      await withProvider({ retry: { maxAttempts: 1 } }, async (provider) => {
        fake.injectError({ action: 'RunInstances', code: 'SomethingNew', status: 400 });
        const clientError = await rejection(
          provider.launch(launchRequest({ service: newService(), replicaId: 'r' })),
        );
        expect(ProviderError.isInstance(clientError)).toBe(true);
        expect(clientError).toMatchObject({ providerCode: 'SomethingNew', retryable: false });
        expect((clientError.cause as { name?: string }).name).toBe('SomethingNew');
        fake.injectError({ action: 'DescribeInstances', code: 'InternalError', status: 500 });
        const serverError = await rejection(
          provider.list({ tags: serviceOwnershipTags(newService()) }),
        );
        expect(serverError).toMatchObject({ providerCode: 'InternalError', retryable: true });
      });
    });
  });

  it('reports network failures as retryable ProviderErrors', async () => {
    const closed = await Ec2Fake.start({ regions: { [EAST]: ['us-east-1a'] } });
    await closed.close();
    const provider = createAwsProvider({
      regions: { [EAST]: { zones: ['us-east-1a'] } },
      instanceType: TYPE,
      imageId: IMAGE,
      endpoint: closed.endpoint,
      credentials: CREDENTIALS,
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    const error = await rejection(provider.list({ tags: serviceOwnershipTags('x') }));
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error.retryable).toBe(true);
    await provider.close();
  });

  it('fails a hung request after requestTimeoutMs with a retryable ProviderError, then retries it', async () => {
    await withProvider(
      { requestTimeoutMs: 200, retry: { maxAttempts: 2, baseDelayMs: 1 } },
      async (provider) => {
        fake.delayResponses({ action: 'DescribeInstances', delayMs: 5_000, count: 1 });
        await expect(provider.list({ tags: serviceOwnershipTags(newService()) })).resolves.toEqual(
          [],
        );
        fake.delayResponses({ action: 'DescribeInstances', delayMs: 5_000, count: 4 });
        const error = await rejection(provider.list({ tags: serviceOwnershipTags(newService()) }));
        expect(ProviderError.isInstance(error)).toBe(true);
        expect(error.retryable).toBe(true);
      },
    );
  });

  describe('offerings', () => {
    it('reads the latest spot price per zone and type, pages, caches and refreshes on the clock', async () => {
      const clock = new ManualClock({ now: 0 });
      const priceFake = await Ec2Fake.start({
        regions: { [EAST]: ['us-east-1a', 'us-east-1b'] },
        instanceTypes: [TYPE, 'g4dn.xlarge', 'p3.2xlarge'],
        spotPrice: 0.5,
      });
      priceFake.setSpotPrice('us-east-1a', TYPE, 0.31, priceFake.now() - 60_000);
      priceFake.setSpotPrice('us-east-1a', TYPE, 0.29, priceFake.now() - 1_000);
      const provider = createAwsProvider({
        regions: { [EAST]: { zones: ['us-east-1a', 'us-east-1b'] } },
        instanceType: [TYPE, 'g4dn.xlarge', 'p3.2xlarge', 'x9.custom'],
        imageId: IMAGE,
        endpoint: priceFake.endpoint,
        credentials: CREDENTIALS,
        pageSize: 5,
        spotPriceRefreshMs: 60_000,
        clock,
        onDemandPrices: { 'g4dn.xlarge': 0.6, 'x9.custom': { [EAST]: 2.5, [WEST]: 3 } },
      });
      try {
        const offerings = await provider.offerings();
        const price = (zone: string, type: string, capacityType: CapacityType) =>
          offerings.find(
            (offering) =>
              offering.location === `aws/${EAST}/${zone}` &&
              offering.instanceType === type &&
              offering.capacityType === capacityType,
          )?.hourlyPrice;
        expect(price('us-east-1a', TYPE, 'spot')).toBe(0.29);
        expect(price('us-east-1b', TYPE, 'spot')).toBe(0.5);
        expect(price('us-east-1a', TYPE, 'on-demand')).toBe(1.006); // built-in table
        expect(price('us-east-1a', 'g4dn.xlarge', 'on-demand')).toBe(0.6); // override
        expect(price('us-east-1b', 'x9.custom', 'on-demand')).toBe(2.5); // per-region addition
        expect(price('us-east-1a', 'x9.custom', 'spot')).toBeUndefined(); // no spot history
        expect(price('us-east-1a', 'p3.2xlarge', 'on-demand')).toBe(3.06);
        const spotOffering = offerings.find((offering) => offering.capacityType === 'spot');
        expect(spotOffering?.priceAsOf).toBeTypeOf('number');
        const calls = priceFake.requestCount('DescribeSpotPriceHistory');
        expect(calls).toBeGreaterThan(1); // 6 current prices at 5 per page
        expect(
          priceFake.requests.some((request) => request.params['NextToken'] !== undefined),
        ).toBe(true);

        priceFake.setSpotPrice('us-east-1b', TYPE, 0.7);
        await provider.offerings();
        expect(priceFake.requestCount('DescribeSpotPriceHistory')).toBe(calls); // cached
        await clock.advance(60_000);
        const refreshed = await provider.offerings();
        expect(priceFake.requestCount('DescribeSpotPriceHistory')).toBeGreaterThan(calls);
        expect(
          refreshed.find(
            (offering) =>
              offering.location === `aws/${EAST}/us-east-1b` &&
              offering.instanceType === TYPE &&
              offering.capacityType === 'spot',
          )?.hourlyPrice,
        ).toBe(0.7);
      } finally {
        await provider.close();
        await priceFake.close();
      }
    });

    it('shares one price refresh between concurrent callers; aborting one fails only that one', async () => {
      await withProvider({}, async (provider) => {
        fake.delayResponses({ action: 'DescribeSpotPriceHistory', delayMs: 100, count: 2 });
        const before = fake.requestCount('DescribeSpotPriceHistory');
        const controller = new AbortController();
        const aborted = provider.offerings({ abortSignal: controller.signal });
        const patient = provider.offerings();
        controller.abort();
        expect(AbortedError.isInstance(await rejection(aborted))).toBe(true);
        expect((await patient).length).toBeGreaterThan(0);
        expect(fake.requestCount('DescribeSpotPriceHistory') - before).toBe(2); // one per region
      });
    });

    it('rejects with a typed error when the price API fails', async () => {
      await withProvider({ retry: { maxAttempts: 1 } }, async (provider) => {
        fake.injectError({
          action: 'DescribeSpotPriceHistory',
          code: 'UnauthorizedOperation',
          region: WEST,
        });
        const error = await rejection(provider.offerings());
        expect(AuthError.isInstance(error)).toBe(true);
      });
    });
  });

  describe('arguments, abort and lifecycle', () => {
    it('rejects launch requests outside its configuration without calling EC2', async () => {
      const service = newService();
      await withProvider({}, async (provider) => {
        const before = fake.requestCount('RunInstances');
        const bad: [Partial<LaunchRequest>, string][] = [
          [{ location: 'aws/eu-west-1/eu-west-1a' }, 'location'],
          [{ location: 'gcp/us-east-1/us-east-1a' }, 'location'],
          [{ location: `aws/${EAST}` }, 'location'],
          [{ instanceType: 'p5.48xlarge' }, 'instanceType'],
          [{ idempotencyKey: '' }, 'idempotencyKey'],
          [{ idempotencyKey: 'x'.repeat(65) }, 'idempotencyKey'],
          [{ capacityType: 'reserved' as CapacityType }, 'capacityType'],
          [{ startupScript: 'x'.repeat(16 * 1024 + 1) }, 'startupScript'],
        ];
        for (const [override, argument] of bad) {
          const error = await rejection(
            provider.launch({ ...launchRequest({ service, replicaId: 'r' }), ...override }),
          );
          expect(InvalidArgumentError.isInstance(error), argument).toBe(true);
          expect((error as InvalidArgumentError).argument).toBe(argument);
        }
        expect(fake.requestCount('RunInstances')).toBe(before);
      });
    });

    it('rejects with AbortedError when the signal fires, before or during a call', async () => {
      await withProvider({}, async (provider) => {
        const aborted = AbortSignal.abort();
        expect(
          AbortedError.isInstance(
            await rejection(provider.list({ tags: { a: 'b' } }, { abortSignal: aborted })),
          ),
        ).toBe(true);
        const controller = new AbortController();
        fake.throttle(10, { action: 'DescribeSpotPriceHistory' });
        const slow = createAwsProvider(
          settings({ retry: { maxAttempts: 10, baseDelayMs: 10_000, maxDelayMs: 10_000 } }),
        );
        const pending = slow.offerings({ abortSignal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        expect(AbortedError.isInstance(await rejection(pending))).toBe(true);
        await slow.close();
        fake.clearInjectedErrors();
      });
    });

    it('rejects calls after close() with IllegalStateError', async () => {
      const provider = createAwsProvider(settings());
      await provider.close();
      expect(
        IllegalStateError.isInstance(await rejection(provider.list({ tags: { a: 'b' } }))),
      ).toBe(true);
    });
  });

  describe('clients and credentials', () => {
    it('builds one client per region, lazily, through createClient with maxAttempts 1 and no default chain', async () => {
      const created: { region: string; maxAttempts: unknown; hasCredentials: boolean }[] = [];
      const provider = createAwsProvider({
        ...settings({ credentials: undefined }),
        createClient: ({ region, config }) => {
          created.push({
            region,
            maxAttempts: config.maxAttempts,
            hasCredentials: config.credentials !== undefined,
          });
          return new EC2Client({ ...config, credentials: CREDENTIALS });
        },
      });
      expect(created).toEqual([]);
      await provider.list({ tags: serviceOwnershipTags(newService()) });
      await provider.list({ tags: serviceOwnershipTags(newService()) });
      expect(created).toEqual([
        { region: EAST, maxAttempts: 1, hasCredentials: false },
        { region: WEST, maxAttempts: 1, hasCredentials: false },
      ]);
      await provider.close();
    });

    it('accepts a credentials function', async () => {
      let calls = 0;
      await withProvider(
        {
          credentials: async () => {
            calls += 1;
            return CREDENTIALS;
          },
        },
        async (provider) => {
          await provider.list({ tags: serviceOwnershipTags(newService()) });
          expect(calls).toBeGreaterThan(0);
        },
      );
    });

    it('takes the endpoint port from the launch port tag; replicaPort overrides it', async () => {
      const service = newService();
      await withProvider({}, async (provider) => {
        const launched = await provider.launch(
          launchRequest({ service, replicaId: 'r-1', port: 8081 }),
        );
        expect(launched.endpoint).toMatch(/^http:\/\/10\.\d+\.\d+\.\d+:8081$/);
        await provider.launch(launchRequest({ service, replicaId: 'r-2' }));
        const listed = await provider.list({ tags: serviceOwnershipTags(service) });
        const endpointOf = (replica: string) =>
          listed.find((instance) => instance.tags['spothedge-replica'] === replica)?.endpoint;
        expect(endpointOf('r-1')).toBe(launched.endpoint);
        expect(endpointOf('r-2')).toBeUndefined(); // no port tag, no replicaPort
      });
      await withProvider({ replicaPort: 9000 }, async (provider) => {
        const listed = await provider.list({ tags: serviceOwnershipTags(service) });
        expect(listed.map((instance) => instance.endpoint?.replace(/^.*:/, ''))).toEqual([
          '9000',
          '9000',
        ]);
      });
    });

    it('builds the replica endpoint from the public address when asked', async () => {
      const service = newService();
      await withProvider({ replicaPort: 9000, endpointAddress: 'public' }, async (provider) => {
        await provider.launch(launchRequest({ service, replicaId: 'r-1' }));
        const [listed] = await provider.list({ tags: serviceOwnershipTags(service) });
        expect(listed?.endpoint).toMatch(/^http:\/\/198\.51\.\d+\.\d+:9000$/);
      });
    });
  });
});

// The core conformance suite, through the real EC2Client, against a fresh fake per test.

runProviderConformanceSuite({
  name: 'aws (EC2Client against the local EC2 fake)',
  timeoutMs: 5_000,
  async createHarness() {
    const cloud = await Ec2Fake.start({
      regions: { [EAST]: ['us-east-1a', 'us-east-1b'] },
      instanceTypes: ['g5.xlarge'],
    });
    const provider = createAwsProvider({
      regions: { [EAST]: { zones: ['us-east-1a', 'us-east-1b'] } },
      instanceType: 'g5.xlarge',
      imageId: 'ami-0123456789abcdef0',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'AKIDCONFORMANCE', secretAccessKey: 'conformance-secret' },
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    return {
      provider,
      location: `aws/${EAST}/us-east-1a`,
      instanceType: 'g5.xlarge',
      unknownInstanceId: 'i-0fedcba9876543210',
      exhaustSpotCapacity: (location: string) =>
        cloud.setSpotCapacity(location.split('/')[2] ?? '', 0),
      preempt: (instanceId: string) => cloud.preempt(instanceId),
      createForeignInstance: (location: string) =>
        cloud.createForeignInstance(location.split('/')[2] ?? ''),
      instanceExists: (instanceId: string) => {
        const state = cloud.instance(instanceId)?.state;
        return state !== undefined && state !== 'terminated' && state !== 'shutting-down';
      },
      async close() {
        await provider.close();
        await cloud.close();
      },
    };
  },
});
