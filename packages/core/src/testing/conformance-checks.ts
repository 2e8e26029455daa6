/**
 * The checks of the provider conformance suite, independent of any test runner: each one
 * is a plain async function that throws an `AssertionError` (node:assert) on a violation.
 * `runProviderConformanceSuite` wraps them in vitest tests.
 */
import assert from 'node:assert/strict';
import {
  AbortedError,
  CapacityUnavailableError,
  InvalidArgumentError,
  NotOwnedError,
  describeValue,
} from '../errors.js';
import {
  OwnershipTag,
  replicaOwnershipTags,
  serviceOwnershipTags,
  type CapacityType,
  type Instance,
  type ProviderV1,
} from '../provider.js';
import type { ConformanceHarness, ProviderConformanceOptions } from './conformance.js';

/**
 * Ids of the conformance checks, stable across versions.
 * @example await runProviderConformanceCheck('terminate-foreign', options)
 */
export type ConformanceCheckId =
  | 'locations'
  | 'offerings'
  | 'launch-spot'
  | 'launch-on-demand'
  | 'list-by-tags'
  | 'idempotent-launch'
  | 'idempotent-terminate'
  | 'terminate-unknown'
  | 'terminate-foreign'
  | 'terminate-other-service'
  | 'terminate-empty-tags'
  | 'spot-capacity-error'
  | 'preemption-visible'
  | 'interruption-notice'
  | 'launch-aborted';

/**
 * One conformance check, as listed in {@link providerConformanceChecks}.
 * @example { id: 'interruption-notice', title: 'an interruption notice is reported by interruptions()', capability: 'interruptions' }
 */
export interface ConformanceCheck {
  readonly id: ConformanceCheckId;
  /** Test title: the rule, in words. */
  readonly title: string;
  /** The optional capability it needs; skipped when the provider does not claim it. */
  readonly capability?: 'interruptions';
}

interface CheckContext {
  readonly harness: ConformanceHarness;
  readonly provider: ProviderV1;
  readonly service: string;
  readonly serviceTags: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Launches one replica of `service` (or of `options.service`) and tracks it for cleanup. */
  launch(
    capacityType: CapacityType,
    options?: {
      replicaId?: string;
      service?: string;
      idempotencyKey?: string;
      signal?: AbortSignal;
    },
  ): Promise<Instance>;
  /** Remembers an instance to terminate at the end (with `tags`). */
  track(instanceId: string, tags: Readonly<Record<string, string>>): void;
  /** Lists this service's instances. */
  list(tags?: Readonly<Record<string, string>>): Promise<readonly Instance[]>;
}

const ALIVE_STATES: ReadonlySet<string> = new Set(['pending', 'running', 'stopping']);
const DEFAULT_UNKNOWN_ID = 'spothedge-conformance-unknown-instance';
let serviceCounter = 0;

/** A unique service name valid as an AWS tag, a GCP label and an Azure tag value. */
function uniqueServiceName(): string {
  serviceCounter += 1;
  const random = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `conformance-${Date.now().toString(36)}-${serviceCounter}-${random}`;
}

/** Polls `probe` (wall clock, growing interval) until it returns a value, or fails. */
async function waitFor<T>(
  description: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let intervalMs = 20;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      assert.fail(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    intervalMs = Math.min(intervalMs * 1.5, 500);
  }
}

async function expectRejection(
  promise: Promise<unknown>,
  description: string,
  matches: (error: unknown) => boolean,
): Promise<unknown> {
  let outcome: { error: unknown } | undefined;
  try {
    await promise;
  } catch (error) {
    outcome = { error };
  }
  if (outcome === undefined) assert.fail(`Expected ${description}, but the call resolved`);
  if (!matches(outcome.error)) {
    const shown =
      outcome.error instanceof Error
        ? `${outcome.error.name}: ${outcome.error.message}`
        : String(outcome.error);
    assert.fail(`Expected ${description}, got ${shown}`);
  }
  return outcome.error;
}

function describeInstances(instances: readonly Instance[]): string {
  return JSON.stringify(instances.map((instance) => ({ id: instance.id, state: instance.state })));
}

const checks: Record<
  ConformanceCheckId,
  ConformanceCheck & { run(context: CheckContext): Promise<void> }
> = {
  locations: {
    id: 'locations',
    title: 'locations() contains the harness location, with its parts',
    async run({ harness, provider }) {
      const location = provider.locations().find((item) => item.id === harness.location);
      assert.ok(
        location,
        `locations() lacks ${harness.location}: ${JSON.stringify(provider.locations())}`,
      );
      assert.ok(location.cloud.length > 0 && location.region.length > 0, 'cloud and region set');
      assert.ok(
        harness.location.startsWith(`${location.cloud}/${location.region}`),
        `location id ${harness.location} starts with cloud/region`,
      );
    },
  },
  offerings: {
    id: 'offerings',
    title: 'offerings() lists spot and on-demand for the location with positive prices',
    async run({ harness, provider }) {
      const offerings = await provider.offerings();
      for (const capacityType of ['spot', 'on-demand'] as const) {
        const offering = offerings.find(
          (item) =>
            item.location === harness.location &&
            item.instanceType === harness.instanceType &&
            item.capacityType === capacityType,
        );
        assert.ok(
          offering,
          `no ${capacityType} offering of ${harness.instanceType} in ${harness.location}`,
        );
        assert.ok(
          Number.isFinite(offering.hourlyPrice) && offering.hourlyPrice > 0,
          `${capacityType} hourlyPrice is a positive number, got ${offering.hourlyPrice}`,
        );
      }
    },
  },
  'launch-spot': {
    id: 'launch-spot',
    title: 'launches a spot instance with its tags, location and type, visible through list',
    run: (context) => checkLaunch(context, 'spot'),
  },
  'launch-on-demand': {
    id: 'launch-on-demand',
    title: 'launches an on-demand instance with its tags, location and type, visible through list',
    run: (context) => checkLaunch(context, 'on-demand'),
  },
  'list-by-tags': {
    id: 'list-by-tags',
    title: "list by service tags returns this service's instances only",
    async run(context) {
      const { harness } = context;
      const ours = await context.launch('spot', { replicaId: 'r-ours' });
      const theirs = await context.launch('on-demand', {
        replicaId: 'r-theirs',
        service: `${context.service}-other`,
      });
      const foreignId = await harness.createForeignInstance(harness.location);
      const listed = await waitFor('our instance in list', context.timeoutMs, async () => {
        const instances = await context.list();
        return instances.some((instance) => instance.id === ours.id) ? instances : undefined;
      });
      const ids = listed.map((instance) => instance.id);
      assert.deepEqual(ids, [ours.id], `list(service tags) returned ${describeInstances(listed)}`);
      assert.ok(!ids.includes(theirs.id) && !ids.includes(foreignId));
      const byReplica = await context.list({
        ...context.serviceTags,
        [OwnershipTag.Replica]: 'r-ours',
      });
      assert.deepEqual(
        byReplica.map((instance) => instance.id),
        [ours.id],
        'list by replica tag',
      );
    },
  },
  'idempotent-launch': {
    id: 'idempotent-launch',
    title: 'launching twice with the same idempotency key yields one instance',
    async run(context) {
      const key = `${context.service}-same-key`;
      const first = await context.launch('spot', { replicaId: 'r-1', idempotencyKey: key });
      const second = await context.launch('spot', { replicaId: 'r-1', idempotencyKey: key });
      assert.equal(second.id, first.id, 'same key returned another instance');
      const listed = await waitFor('the instance in list', context.timeoutMs, async () => {
        const instances = await context.list();
        return instances.some((instance) => instance.id === first.id) ? instances : undefined;
      });
      assert.equal(listed.length, 1, `expected one instance, got ${describeInstances(listed)}`);
    },
  },
  'idempotent-terminate': {
    id: 'idempotent-terminate',
    title: 'terminate is idempotent and the instance stops being alive',
    async run(context) {
      const instance = await context.launch('on-demand');
      const request = { instanceId: instance.id, tags: context.serviceTags };
      await context.provider.terminate(request);
      await context.provider.terminate(request);
      await waitFor(
        'the terminated instance to leave the alive states',
        context.timeoutMs,
        async () => {
          const listed = (await context.list()).find((item) => item.id === instance.id);
          return listed === undefined || !ALIVE_STATES.has(listed.state) ? true : undefined;
        },
      );
      await context.provider.terminate(request);
    },
  },
  'terminate-unknown': {
    id: 'terminate-unknown',
    title: 'terminate of an unknown instance id resolves',
    async run({ harness, provider, serviceTags }) {
      await provider.terminate({
        instanceId: harness.unknownInstanceId ?? DEFAULT_UNKNOWN_ID,
        tags: serviceTags,
      });
    },
  },
  'terminate-foreign': {
    id: 'terminate-foreign',
    title: 'terminate refuses an instance without our tags (NotOwnedError) and leaves it',
    async run({ harness, provider, serviceTags }) {
      const foreignId = await harness.createForeignInstance(harness.location);
      await expectRejection(
        provider.terminate({ instanceId: foreignId, tags: serviceTags }),
        'NotOwnedError for a foreign instance',
        (error) => NotOwnedError.isInstance(error),
      );
      if (harness.instanceExists !== undefined) {
        assert.equal(
          await harness.instanceExists(foreignId),
          true,
          'the foreign instance was terminated despite the refusal',
        );
      }
    },
  },
  'terminate-other-service': {
    id: 'terminate-other-service',
    title: "terminate refuses another service's instance (NotOwnedError) and leaves it",
    async run(context) {
      const instance = await context.launch('on-demand');
      await expectRejection(
        context.provider.terminate({
          instanceId: instance.id,
          tags: serviceOwnershipTags(`${context.service}-other`),
        }),
        "NotOwnedError for another service's tags",
        (error) => NotOwnedError.isInstance(error),
      );
      const listed = await waitFor('the instance in list', context.timeoutMs, async () =>
        (await context.list()).find((item) => item.id === instance.id),
      );
      assert.ok(
        ALIVE_STATES.has(listed.state),
        `refused terminate changed the instance: ${listed.state}`,
      );
    },
  },
  'terminate-empty-tags': {
    id: 'terminate-empty-tags',
    title: 'terminate with no ownership tags is refused and leaves the instance',
    async run(context) {
      const instance = await context.launch('on-demand');
      // Every instance "carries" an empty tag set: a provider must not read it as ownership.
      await expectRejection(
        context.provider.terminate({ instanceId: instance.id, tags: {} }),
        'NotOwnedError or InvalidArgumentError for empty tags',
        (error) => NotOwnedError.isInstance(error) || InvalidArgumentError.isInstance(error),
      );
      const listed = await waitFor('the instance in list', context.timeoutMs, async () =>
        (await context.list()).find((item) => item.id === instance.id),
      );
      assert.ok(
        ALIVE_STATES.has(listed.state),
        `refused terminate changed the instance: ${listed.state}`,
      );
    },
  },
  'spot-capacity-error': {
    id: 'spot-capacity-error',
    title:
      'a spot launch without capacity rejects with CapacityUnavailableError and leaves nothing',
    async run(context) {
      await context.harness.exhaustSpotCapacity(context.harness.location);
      const error = await expectRejection(
        context.launch('spot', { replicaId: 'r-no-capacity' }),
        'CapacityUnavailableError',
        (candidate) => CapacityUnavailableError.isInstance(candidate),
      );
      assert.ok(CapacityUnavailableError.isInstance(error));
      assert.ok(error.retryable === false, 'capacity errors are not retryable in place');
      const listed = await context.list();
      const alive = listed.filter((instance) => ALIVE_STATES.has(instance.state));
      assert.deepEqual(alive, [], `a failed launch left ${describeInstances(listed)}`);
    },
  },
  'preemption-visible': {
    id: 'preemption-visible',
    title: 'a preempted spot instance shows as preempted in list, or is gone',
    async run(context) {
      const instance = await context.launch('spot');
      await waitFor('the instance in list', context.timeoutMs, async () =>
        (await context.list()).find((item) => item.id === instance.id),
      );
      await context.harness.preempt(instance.id);
      let last: Instance | undefined;
      await waitFor(
        'the instance to show as preempted (or be gone)',
        context.timeoutMs,
        async () => {
          last = (await context.list()).find((item) => item.id === instance.id);
          if (last === undefined || last.state === 'preempted') return true;
          assert.ok(
            last.state === 'stopping' || ALIVE_STATES.has(last.state),
            `a preempted instance must show as preempted, got ${last.state}`,
          );
          return undefined;
        },
      );
    },
  },
  'interruption-notice': {
    id: 'interruption-notice',
    title: 'an interruption notice is reported by interruptions()',
    capability: 'interruptions',
    async run(context) {
      const { harness, provider } = context;
      assert.ok(
        provider.interruptions,
        'capabilities.interruptions is set but provider.interruptions is missing',
      );
      assert.ok(
        harness.sendInterruptionNotice,
        'capabilities.interruptions needs harness.sendInterruptionNotice',
      );
      const instance = await context.launch('spot');
      await waitFor('the instance in list', context.timeoutMs, async () =>
        (await context.list()).find((item) => item.id === instance.id),
      );
      await harness.sendInterruptionNotice(instance.id);
      const notice = await waitFor('the notice in interruptions()', context.timeoutMs, async () =>
        (await provider.interruptions!({ tags: context.serviceTags })).find(
          (item) => item.instanceId === instance.id,
        ),
      );
      assert.ok(Number.isFinite(notice.noticedAt), 'noticedAt is a time');
      const others = await provider.interruptions({
        tags: serviceOwnershipTags(`${context.service}-other`),
      });
      assert.ok(
        !others.some((item) => item.instanceId === instance.id),
        "interruptions() reported our notice for another service's tags",
      );
    },
  },
  'launch-aborted': {
    id: 'launch-aborted',
    title: 'a launch with an aborted signal rejects with AbortedError and creates nothing',
    async run(context) {
      const controller = new AbortController();
      controller.abort();
      await expectRejection(
        context.launch('spot', { signal: controller.signal }),
        'AbortedError',
        (error) => AbortedError.isInstance(error),
      );
      const listed = await context.list();
      assert.deepEqual(listed, [], `an aborted launch left ${describeInstances(listed)}`);
    },
  },
};

async function checkLaunch(context: CheckContext, capacityType: CapacityType): Promise<void> {
  const { harness } = context;
  const instance = await context.launch(capacityType, { replicaId: 'r-1' });
  const expectedTags = replicaOwnershipTags({
    service: context.service,
    replicaId: 'r-1',
    capacityType,
  });
  assert.ok(typeof instance.id === 'string' && instance.id.length > 0, 'instance id');
  assert.equal(instance.location, harness.location, 'instance location');
  assert.equal(instance.capacityType, capacityType, 'instance capacityType');
  assert.equal(instance.instanceType, harness.instanceType, 'instance instanceType');
  assert.ok(ALIVE_STATES.has(instance.state), `a new instance is alive, got ${instance.state}`);
  assert.ok(Number.isFinite(instance.launchedAt), 'launchedAt is a time');
  for (const [key, value] of Object.entries(expectedTags)) {
    assert.equal(instance.tags[key], value, `tag ${key}`);
  }
  const listed = await waitFor('the instance in list', context.timeoutMs, async () =>
    (await context.list()).find((item) => item.id === instance.id),
  );
  assert.equal(listed.capacityType, capacityType, 'listed capacityType');
  assert.equal(listed.location, harness.location, 'listed location');
  assert.ok(ALIVE_STATES.has(listed.state), `listed state is alive, got ${listed.state}`);
  for (const [key, value] of Object.entries(expectedTags)) {
    assert.equal(listed.tags[key], value, `listed tag ${key}`);
  }
}

/**
 * Every conformance check, in the order the suite runs them.
 * @example providerConformanceChecks.filter((check) => check.capability === undefined)
 */
export const providerConformanceChecks: readonly ConformanceCheck[] = Object.values(checks).map(
  ({ id, title, capability }) =>
    capability === undefined ? { id, title } : { id, title, capability },
);

/**
 * Runs one conformance check against a fresh harness, with a fresh unique service name;
 * then terminates what the check launched and closes the harness. Rejects (with an
 * `AssertionError` from node:assert, or the provider's error) when the provider breaks the
 * rule. For test runners other than vitest, and for proving that a broken provider fails.
 *
 * @example
 * ```ts
 * for (const check of providerConformanceChecks) {
 *   test(check.title, () => runProviderConformanceCheck(check.id, options));
 * }
 * ```
 */
export async function runProviderConformanceCheck(
  checkId: ConformanceCheckId,
  options: ProviderConformanceOptions,
): Promise<void> {
  checkConformanceOptions(options);
  const check = Object.hasOwn(checks, checkId) ? checks[checkId] : undefined;
  if (check === undefined) {
    throw new InvalidArgumentError(
      `Expected \`checkId\` to be one of ${Object.keys(checks).join(', ')}, got ${describeValue(checkId)}`,
      { argument: 'checkId', value: checkId },
    );
  }
  const harness = await options.createHarness();
  try {
    checkHarness(harness);
  } catch (error) {
    await (harness as Partial<ConformanceHarness> | null)?.close?.();
    throw error;
  }
  const service = uniqueServiceName();
  const serviceTags = serviceOwnershipTags(service);
  const launched = new Map<string, Readonly<Record<string, string>>>();
  let keyCounter = 0;
  const context: CheckContext = {
    harness,
    provider: harness.provider,
    service,
    serviceTags,
    timeoutMs: options.timeoutMs ?? 10_000,
    track(instanceId, tags) {
      launched.set(instanceId, tags);
    },
    list(tags = serviceTags) {
      return harness.provider.list({ tags });
    },
    async launch(capacityType, launchOptions = {}) {
      const launchService = launchOptions.service ?? service;
      keyCounter += 1;
      const instance = await harness.provider.launch(
        {
          location: harness.location,
          capacityType,
          instanceType: harness.instanceType,
          tags: replicaOwnershipTags({
            service: launchService,
            replicaId: launchOptions.replicaId ?? `r-${keyCounter}`,
            capacityType,
          }),
          idempotencyKey: launchOptions.idempotencyKey ?? `${service}-${keyCounter}`,
          startupScript: '#!/bin/sh\necho spothedge conformance\n',
        },
        launchOptions.signal === undefined ? undefined : { abortSignal: launchOptions.signal },
      );
      launched.set(instance.id, serviceOwnershipTags(launchService));
      return instance;
    },
  };
  let checkError: { error: unknown } | undefined;
  try {
    await check.run(context);
  } catch (error) {
    checkError = { error };
  }
  const failures: unknown[] = [];
  for (const [instanceId, tags] of launched) {
    try {
      await harness.provider.terminate({ instanceId, tags });
    } catch (error) {
      failures.push(error);
    }
  }
  if (harness.close === undefined) await harness.provider.close?.();
  else await harness.close();
  // A cleanup failure never hides the check's own failure.
  if (checkError !== undefined) throw checkError.error;
  if (failures.length > 0) {
    throw new AggregateError(failures, `Cleanup failed for ${failures.length} instance(s)`);
  }
}

function invalid(argument: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `Expected \`${argument}\` to be ${expected}, got ${describeValue(value)}`,
    { argument, value },
  );
}

/** Validates suite options eagerly, naming the option and the value. */
export function checkConformanceOptions(options: ProviderConformanceOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'an object', options);
  }
  if (typeof options.name !== 'string' || options.name === '') {
    throw invalid('name', 'a non-empty string', options.name);
  }
  if (typeof options.createHarness !== 'function') {
    throw invalid('createHarness', 'a function', options.createHarness);
  }
  const { timeoutMs, capabilities } = options;
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)
  ) {
    throw invalid('timeoutMs', 'a positive number of milliseconds', timeoutMs);
  }
  if (capabilities !== undefined && (typeof capabilities !== 'object' || capabilities === null)) {
    throw invalid('capabilities', 'an object such as { interruptions: true }', capabilities);
  }
}

function checkHarness(harness: ConformanceHarness): void {
  if (typeof harness !== 'object' || harness === null) {
    throw invalid('createHarness()', 'a harness object', harness);
  }
  const provider = harness.provider as Partial<ProviderV1> | undefined;
  if (typeof provider !== 'object' || provider === null || provider.specificationVersion !== 'v1') {
    throw invalid('harness.provider', "a ProviderV1 (specificationVersion 'v1')", provider);
  }
  for (const field of ['location', 'instanceType'] as const) {
    if (typeof harness[field] !== 'string' || harness[field] === '') {
      throw invalid(`harness.${field}`, 'a non-empty string', harness[field]);
    }
  }
  for (const method of ['exhaustSpotCapacity', 'preempt', 'createForeignInstance'] as const) {
    if (typeof harness[method] !== 'function') {
      throw invalid(`harness.${method}`, 'a function', harness[method]);
    }
  }
}
