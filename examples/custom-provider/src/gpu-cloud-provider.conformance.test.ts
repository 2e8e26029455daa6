import { runProviderConformanceSuite } from '@spothedge/core/testing';
import { startGpuCloudSetup, toConformanceHarness } from './testing/gpu-cloud-harness.js';

// #region conformance-suite
// Every check gets a fresh fake cloud, webhook server and provider. Pages of two instances
// make `list` walk several pages.
runProviderConformanceSuite({
  name: 'gpu-cloud (local fake REST API)',
  capabilities: { interruptions: true },
  timeoutMs: 5_000,
  createHarness: async () =>
    toConformanceHarness(await startGpuCloudSetup({ cloud: { pageSize: 2 } })),
});
// #endregion
