import type { BillingSku } from '../billing-catalog.js';
import { catalogSku } from './gce-fake.js';

const US = ['us-central1'];

/**
 * Compute Engine SKUs as the Cloud Billing Catalog lists them: the G2 units the tests
 * price (vCPU 0.025 / 0.01, RAM 0.003 / 0.001, L4 0.5 / 0.2 per hour, on-demand / spot)
 * among distractors that must be ignored (custom, commitments, other regions, N2D).
 */
export const catalogSkuFixtures: readonly BillingSku[] = [
  catalogSku({
    description: 'G2 Instance Core running in Americas',
    usageType: 'OnDemand',
    regions: US,
    price: 0.025,
  }),
  catalogSku({
    description: 'Spot Preemptible G2 Instance Core running in Americas',
    usageType: 'Preemptible',
    regions: US,
    price: 0.01,
  }),
  catalogSku({
    description: 'G2 Instance Ram running in Americas',
    usageType: 'OnDemand',
    regions: US,
    price: 0.003,
    resourceGroup: 'RAM',
    usageUnit: 'GiBy.h',
  }),
  catalogSku({
    description: 'Spot Preemptible G2 Instance Ram running in Americas',
    usageType: 'Preemptible',
    regions: US,
    price: 0.001,
    resourceGroup: 'RAM',
    usageUnit: 'GiBy.h',
  }),
  catalogSku({
    description: 'Nvidia L4 GPU running in Americas',
    usageType: 'OnDemand',
    regions: US,
    price: 0.5,
    resourceGroup: 'GPU',
  }),
  catalogSku({
    description: 'Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas',
    usageType: 'Preemptible',
    regions: US,
    price: 0.2,
    resourceGroup: 'GPU',
  }),
  // Distractors.
  catalogSku({
    description: 'G2 Custom Instance Core running in Americas',
    usageType: 'OnDemand',
    regions: US,
    price: 9,
  }),
  catalogSku({
    description: 'Commitment v1: G2 Cpu in Americas for 1 Year',
    usageType: 'Commit1Yr',
    regions: US,
    price: 0.001,
  }),
  catalogSku({
    description: 'G2 Instance Core running in Netherlands',
    usageType: 'OnDemand',
    regions: ['europe-west4'],
    price: 0.0001,
  }),
  catalogSku({
    description: 'N2D AMD Instance Core running in Americas',
    usageType: 'OnDemand',
    regions: US,
    price: 7,
  }),
  catalogSku({
    description: 'Nvidia Tesla T4 GPU running in Americas',
    usageType: 'OnDemand',
    regions: US,
    price: 8,
    resourceGroup: 'GPU',
  }),
];
