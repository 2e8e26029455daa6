import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  AuthError,
  CapacityUnavailableError,
  InvalidConfigError,
  ProviderError,
  QuotaExceededError,
  ThrottledError,
  replicaOwnershipTags,
  serviceOwnershipTags,
  type SpotHedgeError,
} from '@spothedge/core';
import { mapAzureError, parseRetryAfter } from './map-azure-error.js';
import type { FakeArmError } from './testing/arm-fake.js';
import { startFakeAzure, type FakeAzureSetup } from './testing/fake-azure-setup.js';

type ErrorClass =
  | typeof CapacityUnavailableError
  | typeof QuotaExceededError
  | typeof ThrottledError
  | typeof AuthError
  | typeof InvalidConfigError
  | typeof ProviderError;

const QUOTA_MESSAGE =
  'Operation could not be completed as it results in exceeding approved LowPriorityCores quota. Additional details - Deployment Model: Resource Manager, Location: eastus, Current Limit: 10, Current Usage: 8, Additional Required: 4.';

function body(error: FakeArmError): { error: FakeArmError } {
  return { error };
}

/** Synchronous errors: the PUT itself is answered with an ARM error body. */
const synchronousCases: readonly {
  name: string;
  status: number;
  error: FakeArmError;
  expected: ErrorClass;
  retryable?: boolean;
  setting?: string;
}[] = [
  {
    name: 'SkuNotAvailable',
    status: 409,
    error: {
      code: 'SkuNotAvailable',
      message:
        "The requested size for resource is currently not available in location 'eastus' zones '1'.",
    },
    expected: CapacityUnavailableError,
  },
  {
    name: 'AllocationFailed',
    status: 409,
    error: { code: 'AllocationFailed', message: 'Allocation failed.' },
    expected: CapacityUnavailableError,
  },
  {
    name: 'OverconstrainedZonalAllocationRequest nested in details[]',
    status: 409,
    error: {
      code: 'Conflict',
      message: 'The request could not be completed.',
      details: [
        {
          code: 'OverconstrainedZonalAllocationRequest',
          message: 'Allocation failed. VM(s) with the following constraints cannot be allocated.',
        },
      ],
    },
    expected: CapacityUnavailableError,
  },
  {
    name: 'OperationNotAllowed with quota text',
    status: 409,
    error: { code: 'OperationNotAllowed', message: QUOTA_MESSAGE },
    expected: QuotaExceededError,
  },
  {
    name: 'QuotaExceeded',
    status: 409,
    error: { code: 'QuotaExceeded', message: 'Quota exceeded for Standard DSv5 Family vCPUs.' },
    expected: QuotaExceededError,
  },
  {
    name: 'LowPriorityCoresQuota nested in details[]',
    status: 400,
    error: {
      code: 'InvalidTemplateDeployment',
      message: 'The template deployment failed.',
      details: [{ code: 'LowPriorityCoresQuota', message: 'Spot cores quota exceeded.' }],
    },
    expected: QuotaExceededError,
  },
  {
    name: 'HTTP 401 AuthenticationFailed',
    status: 401,
    error: { code: 'AuthenticationFailed', message: 'Authentication failed.' },
    expected: AuthError,
  },
  {
    name: 'HTTP 403 AuthorizationFailed',
    status: 403,
    error: {
      code: 'AuthorizationFailed',
      message:
        "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/write'.",
    },
    expected: AuthError,
  },
  {
    name: 'LinkedAuthorizationFailed (no join permission on the subnet)',
    status: 403,
    error: {
      code: 'LinkedAuthorizationFailed',
      message:
        'The client has permission to perform action on scope, however it does not have permission to perform action Microsoft.Network/virtualNetworks/subnets/join/action.',
    },
    expected: AuthError,
  },
  {
    name: 'InvalidParameter with a target',
    status: 400,
    error: {
      code: 'InvalidParameter',
      message: 'The value of parameter imageReference.sku is invalid.',
      target: 'imageReference.sku',
    },
    expected: InvalidConfigError,
    setting: 'imageReference.sku',
  },
  {
    name: 'PlatformImageNotFound',
    status: 404,
    error: { code: 'PlatformImageNotFound', message: 'The platform image was not found.' },
    expected: InvalidConfigError,
  },
  {
    name: 'InvalidResourceReference nested in details[]',
    status: 400,
    error: {
      code: 'BadRequest',
      message: 'Bad request.',
      details: [
        { code: 'InvalidResourceReference', message: 'Subnet not found.', target: 'subnet' },
      ],
    },
    expected: InvalidConfigError,
    setting: 'subnet',
  },
  {
    name: 'OperationNotAllowed without quota text',
    status: 409,
    error: { code: 'OperationNotAllowed', message: 'Spot is not supported for this VM size.' },
    expected: InvalidConfigError,
  },
  {
    name: 'HTTP 500',
    status: 500,
    error: { code: 'InternalServerError', message: 'An internal error occurred.' },
    expected: ProviderError,
    retryable: true,
  },
  {
    name: 'unknown 409 code',
    status: 409,
    error: { code: 'SomethingNew', message: 'A new failure.' },
    expected: ProviderError,
    retryable: false,
  },
];

/** Failed long-running operations: the PUT is accepted, the operation status says Failed. */
const operationCases: readonly { name: string; error: FakeArmError; expected: ErrorClass }[] = [
  {
    name: 'ZonalAllocationFailed',
    error: { code: 'ZonalAllocationFailed', message: 'Allocation failed in zone 1.' },
    expected: CapacityUnavailableError,
  },
  {
    name: 'AllocationFailed',
    error: { code: 'AllocationFailed', message: 'Allocation failed.' },
    expected: CapacityUnavailableError,
  },
  {
    name: 'OverconstrainedAllocationRequest',
    error: {
      code: 'OverconstrainedAllocationRequest',
      message: 'Allocation failed. VM(s) with the following constraints cannot be allocated.',
    },
    expected: CapacityUnavailableError,
  },
  {
    name: 'ZonalAllocationFailed nested under a generic code',
    error: {
      code: 'InternalOperationError',
      message: 'The operation failed.',
      details: [{ code: 'ZonalAllocationFailed', message: 'Allocation failed in zone 1.' }],
    },
    expected: CapacityUnavailableError,
  },
  {
    name: 'OperationNotAllowed with quota text',
    error: { code: 'OperationNotAllowed', message: QUOTA_MESSAGE },
    expected: QuotaExceededError,
  },
  {
    name: 'LowPriorityCoresQuota nested',
    error: {
      code: 'ResourceOperationFailure',
      message: 'Failed.',
      details: [{ code: 'LowPriorityCoresQuota', message: 'Quota.' }],
    },
    expected: QuotaExceededError,
  },
  {
    name: 'InvalidParameter',
    error: { code: 'InvalidParameter', message: 'customData is invalid.', target: 'customData' },
    expected: InvalidConfigError,
  },
  {
    name: 'unknown operation failure',
    error: { code: 'VMAgentStatusCommunicationError', message: 'The VM agent did not report.' },
    expected: ProviderError,
  },
];

const SERVICE = 'errors';
let setup: FakeAzureSetup;

beforeEach(async () => {
  setup = await startFakeAzure();
});

afterEach(async () => {
  await setup.close();
  expect(setup.credential.tokenRequests).toBe(0);
});

function launch(key = 'errors-r1'): Promise<unknown> {
  return setup.provider.launch({
    location: 'azure/eastus/1',
    capacityType: 'spot',
    instanceType: 'Standard_D2s_v5',
    tags: replicaOwnershipTags({ service: SERVICE, replicaId: 'r1', capacityType: 'spot' }),
    idempotencyKey: key,
  });
}

async function rejection(promise: Promise<unknown>): Promise<SpotHedgeError> {
  try {
    await promise;
  } catch (error) {
    return error as SpotHedgeError;
  }
  throw new Error('expected a rejection');
}

describe('Azure error mapping through the real client: synchronous errors', () => {
  it.each(synchronousCases)(
    '$name → $expected.name',
    async ({ status, error, expected, retryable, setting }) => {
      setup.fake.failNext({ operation: 'create', status, body: body(error) });
      const mapped = await rejection(launch());
      expect(expected.isInstance(mapped), `${mapped.name}: ${mapped.message}`).toBe(true);
      expect(mapped.message).toContain(error.details?.[0]?.code ?? error.code);
      expect(mapped.cause).toBeDefined();
      if (retryable !== undefined) expect(mapped.retryable).toBe(retryable);
      if (setting !== undefined) expect((mapped as InvalidConfigError).setting).toBe(setting);
      if (CapacityUnavailableError.isInstance(mapped) || QuotaExceededError.isInstance(mapped)) {
        expect(mapped.location).toBe('azure/eastus/1');
        expect(mapped.capacityType).toBe('spot');
        expect(mapped.retryable).toBe(false);
      }
      // A rejected PUT created nothing.
      expect(setup.fake.vms).toHaveLength(0);
    },
  );
});

describe('Azure error mapping through the real client: failed long-running operations', () => {
  it.each(operationCases)(
    '$name → $expected.name, and the failed VM is deleted',
    async ({ error, expected }) => {
      setup.fake.failNext({ operation: 'create', operationError: error });
      const mapped = await rejection(launch());
      expect(expected.isInstance(mapped), `${mapped.name}: ${mapped.message}`).toBe(true);
      expect(mapped.message).toContain(error.details?.[0]?.code ?? error.code);
      // The SDK's own error for a failed operation is a plain Error: kept as the cause.
      expect((mapped.cause as Error).message).toMatch(/long-running operation has failed/);
      // Nothing billable is left behind: the Failed VM was deleted.
      expect(setup.fake.count('delete')).toBe(1);
      expect(setup.fake.vms).toHaveLength(0);
    },
  );
});

describe('Azure error mapping: throttling', () => {
  it('maps HTTP 429 with Retry-After to ThrottledError(retryAfterMs) on launch', async () => {
    setup.fake.throttleNext('create', 7);
    const mapped = await rejection(launch());
    expect(ThrottledError.isInstance(mapped)).toBe(true);
    expect((mapped as ThrottledError).retryAfterMs).toBe(7000);
    expect(mapped.retryable).toBe(true);
  });

  it('maps a throttled GET, list, instance view, poll and delete', async () => {
    setup.fake.throttleNext('get', 3);
    expect((await rejection(launch())) as ThrottledError).toMatchObject({
      code: 'THROTTLED',
      retryAfterMs: 3000,
    });

    setup.fake.throttleNext('list', 11);
    const listed = await rejection(setup.provider.list({ tags: serviceOwnershipTags(SERVICE) }));
    expect(listed).toMatchObject({ code: 'THROTTLED', retryAfterMs: 11_000 });

    setup.fake.throttleNext('poll', 2);
    expect(await rejection(launch('errors-r2'))).toMatchObject({
      code: 'THROTTLED',
      retryAfterMs: 2000,
    });

    const instance = (await launch('errors-r3')) as { id: string };
    setup.fake.throttleNext('instanceView', 4);
    expect(
      await rejection(setup.provider.list({ tags: serviceOwnershipTags(SERVICE) })),
    ).toMatchObject({
      code: 'THROTTLED',
      retryAfterMs: 4000,
    });
    setup.fake.throttleNext('delete', 5);
    expect(
      await rejection(
        setup.provider.terminate({ instanceId: instance.id, tags: serviceOwnershipTags(SERVICE) }),
      ),
    ).toMatchObject({ code: 'THROTTLED', retryAfterMs: 5000 });
  });

  it('maps 429 on a later list page (no partial list)', async () => {
    await launch('errors-a');
    await launch('errors-b');
    await launch('errors-c');
    const before = setup.fake.count('list');
    setup.fake.failNext({
      operation: 'list',
      skip: 1,
      status: 429,
      headers: { 'retry-after': '6' },
      body: body({ code: 'TooManyRequests', message: 'Throttled.' }),
    });
    const mapped = await rejection(setup.provider.list({ tags: serviceOwnershipTags(SERVICE) }));
    expect(mapped).toMatchObject({ code: 'THROTTLED', retryAfterMs: 6000 });
    expect(setup.fake.count('list') - before).toBe(2);
  });
});

describe('Azure error mapping: other calls', () => {
  it('maps 403 on list and on terminate', async () => {
    setup.fake.failNext({
      operation: 'list',
      status: 403,
      body: body({ code: 'AuthorizationFailed', message: 'No read.' }),
    });
    expect(
      AuthError.isInstance(
        await rejection(setup.provider.list({ tags: serviceOwnershipTags(SERVICE) })),
      ),
    ).toBe(true);
    const instance = (await launch()) as { id: string };
    setup.fake.failNext({
      operation: 'delete',
      status: 403,
      body: body({ code: 'AuthorizationFailed', message: 'No delete.' }),
    });
    const mapped = await rejection(
      setup.provider.terminate({ instanceId: instance.id, tags: serviceOwnershipTags(SERVICE) }),
    );
    expect(AuthError.isInstance(mapped)).toBe(true);
  });

  it('maps a failed delete operation', async () => {
    const instance = (await launch()) as { id: string };
    setup.fake.failNext({
      operation: 'delete',
      operationError: { code: 'InternalExecutionError', message: 'Delete failed.' },
    });
    const mapped = await rejection(
      setup.provider.terminate({ instanceId: instance.id, tags: serviceOwnershipTags(SERVICE) }),
    );
    expect(ProviderError.isInstance(mapped)).toBe(true);
    expect((mapped as ProviderError).providerCode).toBe('InternalExecutionError');
  });

  it('maps a missing Authorization header (the fake answers 401) to AuthError', async () => {
    setup.fake.failNext({
      operation: 'any',
      status: 401,
      body: body({ code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' }),
    });
    expect(AuthError.isInstance(await rejection(launch()))).toBe(true);
  });

  it('maps a network failure to a retryable ProviderError', async () => {
    await setup.fake.close();
    const mapped = await rejection(setup.provider.list({ tags: serviceOwnershipTags(SERVICE) }));
    expect(ProviderError.isInstance(mapped)).toBe(true);
    expect(mapped.retryable).toBe(true);
  });
});

describe('mapAzureError (unit)', () => {
  it('maps an AbortError to AbortedError', () => {
    const error = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    expect(AbortedError.isInstance(mapAzureError(error, { operation: 'launch' }))).toBe(true);
  });

  it('reads the code of a failed operation from its message when no body was captured', () => {
    const error = new Error(
      'The long-running operation has failed. ZonalAllocationFailed. Allocation failed.',
    );
    const mapped = mapAzureError(error, {
      operation: 'launch',
      location: 'azure/eastus/2',
      capacityType: 'spot',
    });
    expect(mapped).toBeInstanceOf(CapacityUnavailableError);
    expect(mapped).toMatchObject({ location: 'azure/eastus/2', capacityType: 'spot' });
  });

  it('prefers the captured operation body (nested details) over the message', () => {
    const error = new Error(
      'The long-running operation has failed. InternalOperationError. Failed.',
    );
    const mapped = mapAzureError(error, {
      operation: 'launch',
      operationError: {
        code: 'InternalOperationError',
        message: 'Failed.',
        details: [{ code: 'SkuNotAvailable', message: 'No.' }],
      },
    });
    expect(CapacityUnavailableError.isInstance(mapped)).toBe(true);
  });

  it('passes SpotHedge errors through unchanged', () => {
    const error = new ThrottledError('slow down', { retryAfterMs: 5 });
    expect(mapAzureError(error, { operation: 'list' })).toBe(error);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('12')).toBe(12_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('not a date')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2025 00:00:30 GMT', now)).toBe(0);
  });
});
