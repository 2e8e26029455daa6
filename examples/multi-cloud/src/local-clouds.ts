/**
 * The three clouds on this machine: the EC2, Compute Engine and Azure Resource Manager
 * fakes each provider package ships under `/testing`, on 127.0.0.1, and provider settings
 * that point the real SDK clients at them with fake credentials (nothing looks for real
 * ones). Each cloud has two zones; prices differ per cloud.
 */
import type { AwsProviderSettings } from '@spothedge/aws';
import { Ec2Fake } from '@spothedge/aws/testing';
import type { AzureProviderSettings } from '@spothedge/azure';
import { ArmFake, fakeArmClientFactory } from '@spothedge/azure/testing';
import { createStaticAuthClient, type GcpProviderSettings } from '@spothedge/gcp';
import { GceFake } from '@spothedge/gcp/testing';
import type { MultiCloudSettings } from './multi-cloud-service.js';

export const AWS_ZONES = ['us-east-1a', 'us-east-1b'];
export const GCP_ZONES = ['us-central1-a', 'us-central1-b'];
export const AZURE_REGION = 'eastus';
export const AZURE_ZONES = ['1', '2'];

export interface LocalClouds {
  readonly ec2: Ec2Fake;
  readonly gce: GceFake;
  readonly arm: ArmFake;
  readonly settings: MultiCloudSettings;
  close(): Promise<void>;
}

export async function startLocalClouds(): Promise<LocalClouds> {
  const [ec2, gce, arm] = await Promise.all([
    Ec2Fake.start({
      regions: { 'us-east-1': AWS_ZONES },
      instanceTypes: ['g5.xlarge'],
      spotPrice: 0.45,
    }),
    GceFake.start(),
    ArmFake.start(),
  ]);
  arm.setRetailPrice(AZURE_REGION, 'Standard_NV6ads_A10_v5', { spot: 0.1, onDemand: 0.45 });
  const aws: AwsProviderSettings = {
    regions: { 'us-east-1': { zones: AWS_ZONES } },
    instanceType: 'g5.xlarge',
    imageId: 'ami-0123456789abcdef0',
    endpoint: ec2.endpoint,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
  };
  const gcp: GcpProviderSettings = {
    project: gce.project,
    zones: GCP_ZONES,
    machineType: 'g2-standard-8',
    image: 'projects/debian-cloud/global/images/family/debian-12',
    apiEndpoint: gce.url,
    authClient: createStaticAuthClient(),
    pricing: { source: 'table' },
  };
  const azure: AzureProviderSettings = {
    subscriptionId: arm.subscriptionId,
    resourceGroup: arm.resourceGroup,
    locations: [{ region: AZURE_REGION, zones: AZURE_ZONES }],
    vmSize: 'Standard_NV6ads_A10_v5',
    image: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
    subnetId: `/subscriptions/${arm.subscriptionId}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/replicas`,
    sshPublicKey:
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl local@spothedge',
    createClient: fakeArmClientFactory(),
    armEndpoint: arm.url,
    pollIntervalMs: 5,
    prices: { endpoint: arm.pricesUrl },
  };
  return {
    ec2,
    gce,
    arm,
    settings: { aws, gcp, azure },
    close: async () => {
      await Promise.all([ec2.close(), gce.close(), arm.close()]);
    },
  };
}
