import type { CapacityType } from '@spothedge/core';

/** Service id of Compute Engine in the Cloud Billing Catalog. */
export const COMPUTE_ENGINE_SERVICE_ID = '6F81-5844-456A';

/** The parts of a Cloud Billing Catalog SKU that pricing reads. */
export interface BillingSku {
  readonly skuId?: string;
  readonly description?: string;
  readonly category?: {
    readonly resourceFamily?: string;
    readonly resourceGroup?: string;
    readonly usageType?: string;
  };
  readonly serviceRegions?: readonly string[];
  readonly pricingInfo?: readonly {
    readonly effectiveTime?: string;
    readonly pricingExpression?: {
      readonly usageUnit?: string;
      readonly tieredRates?: readonly {
        readonly startUsageAmount?: number;
        readonly unitPrice?: {
          readonly currencyCode?: string;
          readonly units?: string | number;
          readonly nanos?: number;
        };
      }[];
    };
  }[];
}

export interface FetchBillingSkusOptions {
  readonly fetch: typeof globalThis.fetch;
  /** Base URL of the Cloud Billing API, e.g. `https://cloudbilling.googleapis.com`. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly apiKey?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Stops after this many pages (a guard against a server that never ends). */
  readonly maxPages?: number | undefined;
}

/** Reads every Compute Engine SKU (all pages) from the Cloud Billing Catalog API. */
export async function fetchBillingSkus(options: FetchBillingSkusOptions): Promise<BillingSku[]> {
  const skus: BillingSku[] = [];
  let pageToken = '';
  const maxPages = options.maxPages ?? 100;
  for (let page = 0; page < maxPages; page++) {
    const url = new URL(
      `v1/services/${COMPUTE_ENGINE_SERVICE_ID}/skus`,
      options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`,
    );
    url.searchParams.set('currencyCode', 'USD');
    url.searchParams.set('pageSize', '5000');
    if (pageToken !== '') url.searchParams.set('pageToken', pageToken);
    if (options.apiKey !== undefined) url.searchParams.set('key', options.apiKey);
    const response = await options.fetch(url, {
      headers: { accept: 'application/json', ...options.headers },
      signal: options.signal ?? null,
    });
    const text = await response.text();
    if (!response.ok) {
      throw Object.assign(
        new Error(`Cloud Billing Catalog answered ${response.status}: ${text.slice(0, 200)}`),
        {
          status: response.status,
        },
      );
    }
    const body = JSON.parse(text) as { skus?: BillingSku[]; nextPageToken?: string };
    skus.push(...(body.skus ?? []));
    pageToken = body.nextPageToken ?? '';
    if (pageToken === '') return skus;
  }
  return skus;
}

/** How each series is named in SKU descriptions ("N2 Instance Core running in ..."). */
const SERIES_LABELS: Readonly<Record<string, string>> = {
  n1: 'N1 Predefined',
  n2d: 'N2D AMD',
  c2: 'Compute optimized',
  c2d: 'C2D AMD',
};

/** How each GPU type is named in SKU descriptions ("Nvidia Tesla T4 GPU running in ..."). */
const GPU_LABELS: Readonly<Record<string, string>> = {
  'nvidia-tesla-t4': 'Tesla T4',
  'nvidia-tesla-v100': 'Tesla V100',
  'nvidia-tesla-p100': 'Tesla P100',
  'nvidia-tesla-p4': 'Tesla P4',
  'nvidia-tesla-a100': 'Tesla A100',
  'nvidia-a100-80gb': 'A100 80GB',
  'nvidia-l4': 'L4',
  'nvidia-h100-80gb': 'H100 80GB',
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function seriesLabel(series: string): string {
  return SERIES_LABELS[series] ?? series.toUpperCase();
}

function gpuLabel(gpuType: string): string {
  return (
    GPU_LABELS[gpuType] ??
    gpuType
      .replace(/^nvidia-/, '')
      .replace(/^tesla-/, '')
      .toUpperCase()
  );
}

const EXCLUDED = /custom|sole tenancy|commitment|reserved|extended|premium|dws|calendar|flex/i;

function capacityOf(sku: BillingSku): CapacityType | undefined {
  const usage = sku.category?.usageType;
  return usage === 'OnDemand' ? 'on-demand' : usage === 'Preemptible' ? 'spot' : undefined;
}

/** The hourly price of a SKU's first tier (`units + nanos / 1e9`), or `undefined`. */
export function skuHourlyPrice(sku: BillingSku): number | undefined {
  const info = sku.pricingInfo?.[sku.pricingInfo.length - 1];
  const rates = info?.pricingExpression?.tieredRates ?? [];
  const rate = [...rates].sort((a, b) => (a.startUsageAmount ?? 0) - (b.startUsageAmount ?? 0))[0];
  const unitPrice = rate?.unitPrice;
  if (unitPrice === undefined) return undefined;
  const units = Number(unitPrice.units ?? 0);
  const nanos = unitPrice.nanos ?? 0;
  const price = units + nanos / 1e9;
  return Number.isFinite(price) ? price : undefined;
}

/** Unit prices found in the catalog for one region (any part may be missing). */
export interface RegionUnitPrices {
  /** `series → capacity → price per vCPU-hour`. */
  readonly vcpuHour: Map<string, Map<CapacityType, number>>;
  /** `series → capacity → price per GB-hour`. */
  readonly memoryGbHour: Map<string, Map<CapacityType, number>>;
  /** `gpu type → capacity → price per GPU-hour`. */
  readonly gpuHour: Map<string, Map<CapacityType, number>>;
}

function put(
  target: Map<string, Map<CapacityType, number>>,
  key: string,
  capacity: CapacityType,
  price: number,
): void {
  const byCapacity = target.get(key) ?? new Map<CapacityType, number>();
  // Several SKUs can match (e.g. regional variants): keep the lowest list price.
  const previous = byCapacity.get(capacity);
  byCapacity.set(capacity, previous === undefined ? price : Math.min(previous, price));
  target.set(key, byCapacity);
}

/**
 * Extracts per-region unit prices for the given machine series and GPU types from
 * Compute Engine SKUs: vCPU ("<Series> Instance Core"), memory ("<Series> Instance Ram")
 * and GPU ("Nvidia <GPU> GPU") SKUs; spot = usage type `Preemptible`.
 */
export function unitPricesFromSkus(
  skus: readonly BillingSku[],
  options: {
    readonly regions: readonly string[];
    readonly series: readonly string[];
    readonly gpuTypes: readonly string[];
  },
): Map<string, RegionUnitPrices> {
  const result = new Map<string, RegionUnitPrices>();
  for (const region of options.regions) {
    result.set(region, { vcpuHour: new Map(), memoryGbHour: new Map(), gpuHour: new Map() });
  }
  const seriesPatterns = options.series.map((series) => {
    const label = escapeRegExp(seriesLabel(series));
    return {
      series,
      core: new RegExp(`^(?:Spot Preemptible )?${label} (?:Instance )?Core running in`, 'i'),
      ram: new RegExp(`^(?:Spot Preemptible )?${label} (?:Instance )?Ram running in`, 'i'),
    };
  });
  const gpuPatterns = options.gpuTypes.map((gpuType) => ({
    gpuType,
    pattern: new RegExp(
      `^Nvidia ${escapeRegExp(gpuLabel(gpuType))} GPU (?:attached to Spot Preemptible VMs )?running in`,
      'i',
    ),
  }));
  for (const sku of skus) {
    const capacity = capacityOf(sku);
    const description = sku.description ?? '';
    if (capacity === undefined || EXCLUDED.test(description)) continue;
    if (sku.category?.resourceFamily !== undefined && sku.category.resourceFamily !== 'Compute') {
      continue;
    }
    const price = skuHourlyPrice(sku);
    if (price === undefined) continue;
    for (const region of sku.serviceRegions ?? []) {
      const target = result.get(region);
      if (target === undefined) continue;
      for (const { series, core, ram } of seriesPatterns) {
        if (core.test(description)) put(target.vcpuHour, series, capacity, price);
        else if (ram.test(description)) put(target.memoryGbHour, series, capacity, price);
      }
      for (const { gpuType, pattern } of gpuPatterns) {
        if (pattern.test(description)) put(target.gpuHour, gpuType, capacity, price);
      }
    }
  }
  return result;
}
