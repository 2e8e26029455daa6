/**
 * The provider conformance suite: one set of behavioural checks that every provider —
 * fake, local, trace-driven, AWS, GCP, Azure and any user's — must pass.
 *
 * `runProviderConformanceSuite` registers the checks as vitest tests. vitest is an optional
 * peer dependency of `@spothedge/core`: it is loaded here only inside a vitest run (when
 * `process.env.VITEST` is set), so importing `FakeProvider` or `ManualClock` from
 * `@spothedge/core/testing` never requires or loads vitest. Users of another test runner
 * wrap {@link providerConformanceChecks} with {@link runProviderConformanceCheck} themselves.
 */
import type * as Vitest from 'vitest';
import { IllegalStateError } from '../errors.js';
import type { ProviderV1 } from '../provider.js';
import {
  checkConformanceOptions,
  providerConformanceChecks,
  runProviderConformanceCheck,
} from './conformance-checks.js';

/**
 * What the suite needs besides the provider: a location that works, and a way to make the
 * cloud behind the provider do things a provider cannot do by itself.
 */
export interface ConformanceHarness {
  /** The provider under test, fresh for this test. */
  readonly provider: ProviderV1;
  /** A location where spot and on-demand launches succeed. */
  readonly location: string;
  /** An instance type offered in `location` for both capacity types. */
  readonly instanceType: string;
  /** From now on, spot launches in `location` fail for capacity. */
  exhaustSpotCapacity(location: string): void | Promise<void>;
  /** The cloud reclaims this spot instance. */
  preempt(instanceId: string): void | Promise<void>;
  /** Creates an instance WITHOUT our ownership tags in `location`; returns its id. */
  createForeignInstance(location: string): string | Promise<string>;
  /** Sends an interruption notice for this instance. Needed with `capabilities.interruptions`. */
  sendInterruptionNotice?(instanceId: string): void | Promise<void>;
  /**
   * Optional: whether the cloud still has this instance alive (not terminated), looked up
   * behind the provider's back. When given, the suite checks that a refused terminate left
   * the foreign instance alive.
   */
  instanceExists?(instanceId: string): boolean | Promise<boolean>;
  /**
   * Optional: an instance id that is well-formed for this cloud but does not exist.
   * @default 'spothedge-conformance-unknown-instance'
   */
  readonly unknownInstanceId?: string;
  /**
   * Releases what the harness created (foreign instances, servers, clients, the provider).
   * @default `provider.close()` when the harness has no `close`
   */
  close?(): void | Promise<void>;
}

/** Options of {@link runProviderConformanceSuite}. */
export interface ProviderConformanceOptions {
  /** Shown in the `describe` title, e.g. `'aws (EC2 fake server)'`. */
  readonly name: string;
  /** Creates a fresh harness; called once per test. */
  createHarness(): ConformanceHarness | Promise<ConformanceHarness>;
  /**
   * Optional capabilities the provider claims; checks of unclaimed ones are not registered.
   * @default {}
   */
  readonly capabilities?: { readonly interruptions?: boolean };
  /**
   * Bound (wall-clock ms) for each state the suite waits to observe through `list` or
   * `interruptions` (it polls). Each test times out after 3 × this.
   * @default 10_000
   */
  readonly timeoutMs?: number;
}

// Loaded only inside a vitest run: see the module comment.
type VitestApi = Pick<typeof Vitest, 'describe' | 'it'>;
const vitest: VitestApi | undefined =
  process.env['VITEST'] === undefined
    ? undefined
    : await import('vitest').catch((): undefined => undefined);

/**
 * Registers the provider conformance suite as vitest tests (one `describe` with one `it`
 * per check). Call it at the top level of a `*.test.ts` file.
 *
 * Every test gets a fresh harness and a fresh, unique service name for its ownership
 * tags, terminates what it launched and closes the harness.
 *
 * @example
 * ```ts
 * import { FakeProvider, runProviderConformanceSuite } from '@spothedge/core/testing';
 *
 * runProviderConformanceSuite({
 *   name: 'fake',
 *   capabilities: { interruptions: true },
 *   createHarness() {
 *     const provider = new FakeProvider();
 *     return {
 *       provider,
 *       location: provider.locations()[0]!.id,
 *       instanceType: 'fake.large',
 *       exhaustSpotCapacity: (location) => provider.setCapacity(location, 0),
 *       preempt: (instanceId) => provider.preempt(instanceId),
 *       createForeignInstance: (location) => provider.createForeignInstance(location),
 *       sendInterruptionNotice: (instanceId) => void provider.notice(instanceId),
 *     };
 *   },
 * });
 * ```
 */
export function runProviderConformanceSuite(options: ProviderConformanceOptions): void {
  if (vitest === undefined) {
    throw new IllegalStateError(
      'runProviderConformanceSuite registers vitest tests: call it from a test file run by vitest (an optional peer dependency of @spothedge/core). With another runner, wrap `providerConformanceChecks` with `runProviderConformanceCheck`.',
    );
  }
  checkConformanceOptions(options);
  const { describe, it } = vitest;
  const timeoutMs = (options.timeoutMs ?? 10_000) * 3;
  describe(`provider conformance: ${options.name}`, () => {
    for (const check of providerConformanceChecks) {
      // A capability the provider does not claim has no check at all (not a skipped one):
      // the cloud simply lacks it, nothing is missing.
      if (check.capability !== undefined && options.capabilities?.[check.capability] !== true) {
        continue;
      }
      it(check.title, () => runProviderConformanceCheck(check.id, options), timeoutMs);
    }
  });
}

export {
  providerConformanceChecks,
  runProviderConformanceCheck,
  type ConformanceCheck,
  type ConformanceCheckId,
} from './conformance-checks.js';
