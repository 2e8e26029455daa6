import { describe, expect, it } from 'vitest';
import {
  CapacityUnavailableError,
  type CallContext,
  type Instance,
  type InterruptionNotice,
  type LaunchRequest,
  type ListRequest,
  type TerminateRequest,
} from '@spothedge/core';
import {
  providerConformanceChecks,
  runProviderConformanceCheck,
  type ProviderConformanceOptions,
} from '@spothedge/core/testing';
import { GpuCloudProvider, type GpuCloudProviderSettings } from './gpu-cloud-provider.js';
import { startGpuCloudSetup, toConformanceHarness } from './testing/gpu-cloud-harness.js';

// Three plausible mistakes an author of a gpu-cloud provider could make. Each one passes a
// happy-path test; the conformance suite must catch every one. The checks are run one by
// one and expected to reject, so no failing test is registered.

// #region broken-terminate
/** Mistake: deletes whatever id it is given, without checking the ownership tags. */
class TrustingGpuCloudProvider extends GpuCloudProvider {
  override async terminate(request: TerminateRequest, context: CallContext = {}): Promise<void> {
    await this.client.deleteInstance(request.instanceId, { abortSignal: context.abortSignal });
  }
}
// #endregion

/** Mistake: "helpfully" falls back to on-demand when spot is out, hiding the capacity error. */
class FallbackGpuCloudProvider extends GpuCloudProvider {
  override async launch(request: LaunchRequest, context?: CallContext): Promise<Instance> {
    try {
      return await super.launch(request, context);
    } catch (error) {
      if (!CapacityUnavailableError.isInstance(error)) throw error;
      return super.launch({ ...request, capacityType: 'on-demand' }, context);
    }
  }
}

/** Mistake: reports every notice the webhook received, whichever service it is for. */
class LeakyNoticesGpuCloudProvider extends GpuCloudProvider {
  constructor(settings: GpuCloudProviderSettings) {
    super(settings);
    const own = this.interruptions!;
    (this as { interruptions?: GpuCloudProvider['interruptions'] }).interruptions = (
      _request: ListRequest,
      context?: CallContext,
    ): Promise<readonly InterruptionNotice[]> => own({ tags: {} }, context);
  }
}

// #region broken-options
function optionsFor(
  create: (settings: GpuCloudProviderSettings) => GpuCloudProvider,
): ProviderConformanceOptions {
  return {
    name: 'gpu-cloud (broken)',
    capabilities: { interruptions: true },
    timeoutMs: 500,
    createHarness: async () => toConformanceHarness(await startGpuCloudSetup({ create })),
  };
}
// #endregion

describe('the conformance suite catches a broken gpu-cloud provider', () => {
  // #region broken-test
  it('fails a provider that terminates instances it does not own', async () => {
    const options = optionsFor((settings) => new TrustingGpuCloudProvider(settings));
    await expect(runProviderConformanceCheck('terminate-foreign', options)).rejects.toThrow(
      'NotOwnedError',
    );
    await expect(runProviderConformanceCheck('terminate-other-service', options)).rejects.toThrow(
      'NotOwnedError',
    );
  });
  // #endregion

  it('fails a provider that swallows capacity errors', async () => {
    const options = optionsFor((settings) => new FallbackGpuCloudProvider(settings));
    await expect(runProviderConformanceCheck('spot-capacity-error', options)).rejects.toThrow(
      'CapacityUnavailableError',
    );
  });

  it("fails a provider that reports other services' interruption notices", async () => {
    const options = optionsFor((settings) => new LeakyNoticesGpuCloudProvider(settings));
    await expect(runProviderConformanceCheck('interruption-notice', options)).rejects.toThrow(
      "another service's tags",
    );
  });

  it('the broken variants still pass every other check (the suite pinpoints the bug)', async () => {
    const variants: [
      (settings: GpuCloudProviderSettings) => GpuCloudProvider,
      readonly string[],
    ][] = [
      [
        (settings) => new TrustingGpuCloudProvider(settings),
        ['terminate-foreign', 'terminate-other-service', 'terminate-empty-tags'],
      ],
      [(settings) => new FallbackGpuCloudProvider(settings), ['spot-capacity-error']],
      [(settings) => new LeakyNoticesGpuCloudProvider(settings), ['interruption-notice']],
    ];
    for (const [create, failing] of variants) {
      const failed: string[] = [];
      for (const check of providerConformanceChecks) {
        await runProviderConformanceCheck(check.id, optionsFor(create)).catch(() =>
          failed.push(check.id),
        );
      }
      expect(failed).toEqual(failing);
    }
  });
});
