import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseLocationId } from '@spothedge/core';
import type { ConformanceHarness } from '@spothedge/core/testing';
import { GpuCloudProvider, type GpuCloudProviderSettings } from '../gpu-cloud-provider.js';
import {
  startFakeGpuCloud,
  type FakeGpuCloud,
  type FakeGpuCloudOptions,
} from './fake-gpu-cloud.js';

export const WEBHOOK_SECRET = 'whsec-test';

/** A fake cloud, a provider pointed at it, and the host's webhook server feeding the provider. */
export interface GpuCloudSetup<P extends GpuCloudProvider = GpuCloudProvider> {
  readonly cloud: FakeGpuCloud;
  readonly provider: P;
  /** Stops the webhook server and the fake cloud, and closes the provider. */
  close(): Promise<void>;
}

/** Starts the fake cloud and a webhook server (both on 127.0.0.1) and builds the provider. */
export async function startGpuCloudSetup<P extends GpuCloudProvider = GpuCloudProvider>(
  options: {
    cloud?: FakeGpuCloudOptions;
    settings?: Partial<GpuCloudProviderSettings>;
    /** Builds the provider (a subclass, e.g. a deliberately broken one). */
    create?: (settings: GpuCloudProviderSettings) => P;
  } = {},
): Promise<GpuCloudSetup<P>> {
  const cloud = await startFakeGpuCloud(options.cloud);
  const settings: GpuCloudProviderSettings = {
    apiKey: 'test-key',
    regions: ['us-east', 'eu-west'],
    baseUrl: cloud.url,
    webhookSecret: WEBHOOK_SECRET,
    requestTimeoutMs: 5_000,
    ...options.settings,
  };
  const provider = options.create?.(settings) ?? (new GpuCloudProvider(settings) as P);
  // #region host-webhook
  // In the host: mount the provider's webhook handler on the URL registered with gpu-cloud.
  const webhooks = createServer(provider.webhookHandler());
  await new Promise<void>((resolve) => webhooks.listen(0, '127.0.0.1', resolve));
  // #endregion
  cloud.setWebhook(`http://127.0.0.1:${(webhooks.address() as AddressInfo).port}/`, WEBHOOK_SECRET);
  return {
    cloud,
    provider,
    async close() {
      await closeServer(webhooks);
      await cloud.close();
      await provider.close();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// #region conformance-harness
/** The conformance harness: the provider plus levers on the fake cloud behind it. */
export function toConformanceHarness(setup: GpuCloudSetup): ConformanceHarness {
  const { cloud, provider } = setup;
  return {
    provider,
    location: 'gpu-cloud/us-east',
    instanceType: 'h100-80gb',
    exhaustSpotCapacity: (location) =>
      cloud.setCapacity(parseLocationId(location).region, { spot: true, count: 0 }),
    preempt: (instanceId) => cloud.reclaim(instanceId),
    createForeignInstance: (location) =>
      cloud.createForeignInstance(parseLocationId(location).region),
    sendInterruptionNotice: (instanceId) => cloud.sendPreemptionNotice(instanceId),
    instanceExists: (instanceId) => {
      const status = cloud.instance(instanceId)?.status;
      return status === 'running' || status === 'provisioning';
    },
    unknownInstanceId: 'gi-9999',
    close: () => setup.close(),
  };
}
// #endregion
