import type { CapacityType } from '@spothedge/core';

/** Hourly unit prices (USD) for one machine series, per capacity type. */
export interface SeriesUnitPrices {
  readonly vcpuHour: number;
  readonly memoryGbHour: number;
}

/** Unit prices to compose machine prices from: per series and per GPU type. */
export interface GcpUnitPrices {
  readonly series: Readonly<Record<string, Readonly<Record<CapacityType, SeriesUnitPrices>>>>;
  readonly gpus: Readonly<Record<string, Readonly<Record<CapacityType, number>>>>;
}

/**
 * Built-in fallback unit prices: approximate us-central1 list prices (USD per hour), used
 * when the Cloud Billing Catalog cannot be read. Good enough to rank offerings; not a bill.
 */
export const FALLBACK_UNIT_PRICES: GcpUnitPrices = {
  series: {
    e2: {
      'on-demand': { vcpuHour: 0.021811, memoryGbHour: 0.002923 },
      spot: { vcpuHour: 0.006543, memoryGbHour: 0.000877 },
    },
    n1: {
      'on-demand': { vcpuHour: 0.031611, memoryGbHour: 0.004237 },
      spot: { vcpuHour: 0.006655, memoryGbHour: 0.000892 },
    },
    n2: {
      'on-demand': { vcpuHour: 0.031611, memoryGbHour: 0.004237 },
      spot: { vcpuHour: 0.00765, memoryGbHour: 0.001025 },
    },
    n2d: {
      'on-demand': { vcpuHour: 0.027502, memoryGbHour: 0.003686 },
      spot: { vcpuHour: 0.006655, memoryGbHour: 0.000892 },
    },
    c2: {
      'on-demand': { vcpuHour: 0.03398, memoryGbHour: 0.00455 },
      spot: { vcpuHour: 0.0064, memoryGbHour: 0.000833 },
    },
    g2: {
      'on-demand': { vcpuHour: 0.024988, memoryGbHour: 0.002927 },
      spot: { vcpuHour: 0.00999, memoryGbHour: 0.00117 },
    },
    a2: {
      'on-demand': { vcpuHour: 0.031611, memoryGbHour: 0.004237 },
      spot: { vcpuHour: 0.0095, memoryGbHour: 0.00127 },
    },
  },
  gpus: {
    'nvidia-tesla-t4': { 'on-demand': 0.35, spot: 0.14 },
    'nvidia-l4': { 'on-demand': 0.56, spot: 0.224 },
    'nvidia-tesla-v100': { 'on-demand': 2.48, spot: 0.992 },
    'nvidia-tesla-p100': { 'on-demand': 1.46, spot: 0.584 },
    'nvidia-tesla-a100': { 'on-demand': 2.934, spot: 1.174 },
    'nvidia-a100-80gb': { 'on-demand': 3.93, spot: 1.57 },
    'nvidia-h100-80gb': { 'on-demand': 11.06, spot: 4.42 },
  },
};
