import { InvalidConfigError, describeValue, type CapacityType } from '@spothedge/core';
import type { RegionUnitPrices } from './billing-catalog.js';
import type { GcpAccelerator, GcpPriceOverride } from './gcp-provider-settings.js';
import { FALLBACK_UNIT_PRICES } from './gcp-price-table.js';
import { machineSeries, type MachineShape } from './machine-shape.js';

export interface ComposePriceOptions {
  readonly machineType: string;
  readonly region: string;
  readonly capacityType: CapacityType;
  readonly shape: MachineShape | undefined;
  readonly accelerators: readonly GcpAccelerator[];
  /** Catalog unit prices for the region, if the catalog was read. */
  readonly catalog: RegionUnitPrices | undefined;
  readonly overrides: Readonly<Record<string, GcpPriceOverride>>;
}

export interface ComposedPrice {
  readonly hourlyPrice: number;
  /** Where the price came from: all catalog units, an override, or (partly) the table. */
  readonly source: 'catalog' | 'override' | 'table';
}

/**
 * The hourly price of one machine: an override if there is one, else vCPUs × vCPU-hour +
 * memory GB × GB-hour + Σ GPUs × GPU-hour, each unit from the catalog when it has it,
 * otherwise from the built-in table.
 */
export function composeMachinePrice(options: ComposePriceOptions): ComposedPrice {
  const { machineType, region, capacityType } = options;
  const override =
    options.overrides[`${region}/${machineType}`]?.[capacityType] ??
    options.overrides[machineType]?.[capacityType];
  if (override !== undefined) return { hourlyPrice: override, source: 'override' };
  const shape = options.shape;
  if (shape === undefined) {
    throw new InvalidConfigError(
      `No price for machine type ${describeValue(machineType)} (${capacityType}): give \`pricing.machineShape\` or \`pricing.overrides\``,
      { setting: 'pricing.overrides', value: machineType },
    );
  }
  const series = machineSeries(machineType);
  let fromTable = false;
  const unit = (
    catalogValue: number | undefined,
    tableValue: number | undefined,
    what: string,
  ): number => {
    if (catalogValue !== undefined) return catalogValue;
    fromTable = true;
    if (tableValue !== undefined) return tableValue;
    throw new InvalidConfigError(
      `No ${what} price for ${describeValue(machineType)} (${capacityType}) in ${region} in the catalog or the built-in table: give \`pricing.overrides\``,
      { setting: 'pricing.overrides', value: machineType },
    );
  };
  const tableSeries = FALLBACK_UNIT_PRICES.series[series]?.[capacityType];
  let price =
    shape.vcpus *
      unit(
        options.catalog?.vcpuHour.get(series)?.get(capacityType),
        tableSeries?.vcpuHour,
        'vCPU',
      ) +
    shape.memoryGb *
      unit(
        options.catalog?.memoryGbHour.get(series)?.get(capacityType),
        tableSeries?.memoryGbHour,
        'memory',
      );
  for (const gpu of [...(shape.gpus ?? []), ...options.accelerators]) {
    price +=
      gpu.count *
      unit(
        options.catalog?.gpuHour.get(gpu.type)?.get(capacityType),
        FALLBACK_UNIT_PRICES.gpus[gpu.type]?.[capacityType],
        `GPU ${gpu.type}`,
      );
  }
  return {
    hourlyPrice: Math.round(price * 1e6) / 1e6,
    source: fromTable || options.catalog === undefined ? 'table' : 'catalog',
  };
}
