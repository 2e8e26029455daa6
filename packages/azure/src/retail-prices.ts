import { AbortedError, ProviderError, type CapacityType } from '@spothedge/core';
import { fallbackPrice } from './fallback-prices.js';
import type { AzurePriceOverride } from './azure-provider-settings.js';

/** One row of the Retail Prices API (only the fields we read). */
export interface RetailPriceItem {
  readonly retailPrice?: number;
  readonly unitPrice?: number;
  readonly armRegionName?: string;
  readonly armSkuName?: string;
  readonly meterName?: string;
  readonly skuName?: string;
  readonly productName?: string;
  readonly serviceName?: string;
  readonly type?: string;
  readonly unitOfMeasure?: string;
  readonly currencyCode?: string;
}

/** A page of the Retail Prices API. */
export interface RetailPricePage {
  readonly Items?: readonly RetailPriceItem[];
  readonly NextPageLink?: string | null;
}

/** Prices of one size in one region, with where they came from. */
export interface RegionPrices {
  readonly prices: Partial<Record<CapacityType, number>>;
  readonly asOf: number;
  readonly source: 'api' | 'override' | 'fallback';
}

export interface RetailPricesOptions {
  readonly vmSize: string;
  readonly endpoint: string;
  readonly fetch: typeof globalThis.fetch | undefined;
  readonly cacheTtlMs: number;
  readonly overrides: Readonly<Record<string, AzurePriceOverride>>;
  readonly offline: boolean;
  readonly now?: () => number;
}

const API_VERSION = '2023-01-01-preview';
/** Pages followed per region at most: a region × size query is one or two pages. */
const MAX_PAGES = 20;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Picks the Linux pay-as-you-go price of each capacity type from Retail Prices rows:
 * spot rows say `Spot` in `meterName`/`skuName`; `Low Priority` (the retired batch
 * priority), Windows, reservation and dev/test rows are skipped.
 */
export function selectPrices(
  items: readonly RetailPriceItem[],
  vmSize: string,
): Partial<Record<CapacityType, number>> {
  const result: Partial<Record<CapacityType, number>> = {};
  for (const item of items) {
    if (item.armSkuName !== undefined && item.armSkuName.toLowerCase() !== vmSize.toLowerCase())
      continue;
    if (item.type !== undefined && item.type !== 'Consumption') continue;
    if (item.unitOfMeasure !== undefined && item.unitOfMeasure !== '1 Hour') continue;
    if (item.currencyCode !== undefined && item.currencyCode !== 'USD') continue;
    const names = `${item.meterName ?? ''} ${item.skuName ?? ''}`;
    if (/low priority/i.test(names)) continue;
    if (/windows/i.test(item.productName ?? '')) continue;
    const price = item.retailPrice ?? item.unitPrice;
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) continue;
    const capacityType: CapacityType = /\bspot\b/i.test(names) ? 'spot' : 'on-demand';
    const current = result[capacityType];
    if (current === undefined || price < current) result[capacityType] = price;
  }
  return result;
}

/**
 * Hourly prices of one VM size per region from the public Azure Retail Prices API
 * (through an injectable `fetch`), cached for `cacheTtlMs`; overrides win; when the API
 * fails, the last fetched prices, then the built-in fallback table, are used.
 */
export class RetailPrices {
  readonly #options: RetailPricesOptions;
  readonly #now: () => number;
  readonly #cache = new Map<string, RegionPrices>();

  constructor(options: RetailPricesOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Prices for `region`; rejects only when neither the API nor any fallback has one. */
  async forRegion(region: string, abortSignal?: AbortSignal): Promise<RegionPrices> {
    const override = { ...this.#options.overrides['*'], ...this.#options.overrides[region] };
    if (override.spot !== undefined && override['on-demand'] !== undefined) {
      return { prices: override, asOf: this.#now(), source: 'override' };
    }
    const cached = this.#cache.get(region);
    let fetched: RegionPrices | undefined;
    if (cached !== undefined && this.#now() - cached.asOf < this.#options.cacheTtlMs) {
      fetched = cached;
    } else if (!this.#options.offline) {
      try {
        const prices = selectPrices(
          await this.#fetchAll(region, abortSignal),
          this.#options.vmSize,
        );
        if (prices.spot !== undefined || prices['on-demand'] !== undefined) {
          fetched = { prices, asOf: this.#now(), source: 'api' };
          this.#cache.set(region, fetched);
        }
      } catch (error) {
        if (AbortedError.isInstance(error)) throw error;
        fetched = cached; // stale beats nothing
        if (fetched === undefined && !this.#hasFallback(override)) throw error;
      }
    }
    const prices: Partial<Record<CapacityType, number>> = { ...fetched?.prices, ...override };
    let source = fetched?.source ?? 'override';
    for (const capacityType of ['spot', 'on-demand'] as const) {
      if (prices[capacityType] === undefined) {
        const fallback = fallbackPrice(this.#options.vmSize, capacityType);
        if (fallback !== undefined) {
          prices[capacityType] = fallback;
          source = 'fallback';
        }
      }
    }
    if (prices.spot === undefined && prices['on-demand'] === undefined) {
      throw new ProviderError(
        `No Azure price known for vmSize \`${this.#options.vmSize}\` in region \`${region}\`; set \`prices.overrides\``,
        { providerCode: 'PriceUnavailable', retryable: true },
      );
    }
    return { prices, asOf: fetched?.asOf ?? this.#now(), source };
  }

  /** Forgets cached prices. */
  clear(): void {
    this.#cache.clear();
  }

  #hasFallback(override: AzurePriceOverride): boolean {
    return (
      override.spot !== undefined ||
      override['on-demand'] !== undefined ||
      fallbackPrice(this.#options.vmSize, 'on-demand') !== undefined
    );
  }

  async #fetchAll(
    region: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<RetailPriceItem[]> {
    const fetchFunction = this.#options.fetch ?? globalThis.fetch;
    const first = new URL(this.#options.endpoint);
    first.searchParams.set('api-version', API_VERSION);
    first.searchParams.set(
      '$filter',
      `serviceName eq 'Virtual Machines' and armRegionName eq '${region}' and armSkuName eq '${this.#options.vmSize}' and priceType eq 'Consumption'`,
    );
    const items: RetailPriceItem[] = [];
    let next: string | null | undefined = first.toString();
    for (let page = 0; next && page < MAX_PAGES; page += 1) {
      const url: URL = new URL(next);
      // Never follow a link to another host: the API pages on its own origin.
      if (url.origin !== first.origin) {
        throw new ProviderError(
          `Azure Retail Prices returned a NextPageLink to another origin: ${url.origin}`,
          {
            providerCode: 'InvalidNextPageLink',
          },
        );
      }
      const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS)];
      if (abortSignal !== undefined) signals.push(abortSignal);
      let response: Response;
      try {
        response = await fetchFunction(url, {
          signal: AbortSignal.any(signals),
          headers: { accept: 'application/json' },
        });
      } catch (error) {
        if (abortSignal?.aborted)
          throw new AbortedError('Azure Retail Prices request was aborted', { cause: error });
        throw new ProviderError('Azure Retail Prices request failed', {
          retryable: true,
          cause: error,
        });
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new ProviderError(`Azure Retail Prices answered HTTP ${response.status}`, {
          providerCode: String(response.status),
          retryable: response.status === 429 || response.status >= 500,
        });
      }
      const body = (await response.json()) as RetailPricePage;
      items.push(...(body.Items ?? []));
      next = body.NextPageLink;
    }
    return items;
  }
}
