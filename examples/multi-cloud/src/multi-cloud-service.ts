/**
 * One service across three clouds: a provider per cloud, every location of all three as a
 * candidate, and one instance type per cloud (`instanceType` takes a list). SpotHedge
 * spreads the spot replicas over all the zones, so one cloud running out of spot capacity
 * takes at most the replicas it holds, and replacements go to the others.
 */
import { createAwsProvider, type AwsProviderSettings } from '@spothedge/aws';
import { createAzureProvider, type AzureProviderSettings } from '@spothedge/azure';
import {
  createService,
  isAlive,
  type CapacityType,
  type CreateServiceOptions,
  type Service,
} from '@spothedge/core';
import { createGcpProvider, type GcpProviderSettings } from '@spothedge/gcp';

export interface MultiCloudSettings {
  readonly aws: AwsProviderSettings;
  readonly gcp: GcpProviderSettings;
  readonly azure: AzureProviderSettings;
}

/** The engine's options besides the spec and the providers (clock, prober, store, ...). */
export type MultiCloudServiceOptions = Omit<CreateServiceOptions, 'spec' | 'providers'>;

export function createMultiCloudService(
  settings: MultiCloudSettings,
  options: MultiCloudServiceOptions = {},
): Service {
  const providers = [
    createAwsProvider(settings.aws),
    createGcpProvider(settings.gcp),
    createAzureProvider(settings.azure),
  ];
  return createService({
    ...options,
    spec: {
      name: 'llama',
      replicas: 3, // ready replicas to keep; SpotHedge adds a spare spot replica
      locations: providers.flatMap((provider) => provider.locations().map((item) => item.id)),
      // One type per cloud: each location uses the one its cloud offers.
      instanceType: [
        ...listOf(settings.aws.instanceType),
        settings.gcp.machineType,
        settings.azure.vmSize,
      ],
      port: 8000,
      readinessProbe: { path: '/v1/models', initialDelaySeconds: 600 },
    },
    providers,
  });
}

function listOf(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}

/** Alive replicas per cloud and capacity type, e.g. `{ aws: { spot: 2 }, gcp: { 'on-demand': 1 } }`. */
export function placementByCloud(
  service: Service,
): Record<string, Partial<Record<CapacityType, number>>> {
  const placement: Record<string, Partial<Record<CapacityType, number>>> = {};
  for (const replica of service.status().replicas) {
    if (!isAlive(replica.status)) continue;
    const byType = (placement[replica.provider] ??= {});
    byType[replica.capacityType] = (byType[replica.capacityType] ?? 0) + 1;
  }
  return placement;
}
