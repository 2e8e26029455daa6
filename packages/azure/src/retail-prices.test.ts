import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '@spothedge/core';
import { RetailPrices, selectPrices, type RetailPriceItem } from './retail-prices.js';
import { ArmFake } from './testing/arm-fake.js';

let fake: ArmFake;

beforeEach(async () => {
  fake = await ArmFake.start({ pricePageSize: 2 });
});

afterEach(async () => {
  await fake.close();
});

function prices(
  options: Partial<ConstructorParameters<typeof RetailPrices>[0]> = {},
): RetailPrices {
  return new RetailPrices({
    vmSize: 'Standard_D2s_v5',
    endpoint: fake.pricesUrl,
    fetch: undefined,
    cacheTtlMs: 60_000,
    overrides: {},
    offline: false,
    ...options,
  });
}

describe('RetailPrices', () => {
  it('follows NextPageLink and picks Linux pay-as-you-go spot and on-demand rows', async () => {
    fake.setRetailPrice('eastus', 'Standard_D2s_v5', { spot: 0.0211, onDemand: 0.096 });
    const result = await prices().forRegion('eastus');
    expect(result.prices).toEqual({ spot: 0.0211, 'on-demand': 0.096 });
    expect(result.source).toBe('api');
    // 6 rows (Windows, reservation and Low Priority decoys included), 2 per page.
    expect(fake.count('prices')).toBe(3);
    const filter = new URL(fake.requests[0]!.url, fake.url).searchParams.get('$filter');
    expect(filter).toBe(
      "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq 'Standard_D2s_v5' and priceType eq 'Consumption'",
    );
  });

  it('caches per region for cacheTtlMs, then fetches again', async () => {
    let now = 0;
    fake.setRetailPrice('eastus', 'Standard_D2s_v5', { spot: 0.02, onDemand: 0.1 });
    const source = prices({ now: () => now });
    await source.forRegion('eastus');
    const first = fake.count('prices');
    now = 59_000;
    await source.forRegion('eastus');
    expect(fake.count('prices')).toBe(first);
    now = 61_000;
    fake.setRetailPrice('eastus', 'Standard_D2s_v5', { spot: 0.03, onDemand: 0.1 });
    expect((await source.forRegion('eastus')).prices.spot).toBe(0.03);
    expect(fake.count('prices')).toBe(first * 2);
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const source = prices({
      endpoint: 'https://prices.example.test/api/retail/prices',
      fetch: async (input) => {
        seen.push(String(input));
        return Response.json({
          Items: [
            {
              armSkuName: 'Standard_D2s_v5',
              meterName: 'D2s v5 Spot',
              skuName: 'D2s v5 Spot',
              productName: 'Virtual Machines Dsv5 Series',
              type: 'Consumption',
              unitOfMeasure: '1 Hour',
              retailPrice: 0.019,
            },
            {
              armSkuName: 'Standard_D2s_v5',
              meterName: 'D2s v5',
              skuName: 'D2s v5',
              productName: 'Virtual Machines Dsv5 Series',
              type: 'Consumption',
              unitOfMeasure: '1 Hour',
              retailPrice: 0.096,
            },
          ],
          NextPageLink: null,
        });
      },
    });
    expect((await source.forRegion('westus2')).prices).toEqual({ spot: 0.019, 'on-demand': 0.096 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('armRegionName+eq+%27westus2%27');
  });

  it('lets overrides win and skips the API when both capacity types are overridden', async () => {
    const source = prices({
      overrides: { '*': { spot: 1, 'on-demand': 2 }, eastus: { spot: 0.5 } },
    });
    expect(await source.forRegion('eastus')).toMatchObject({
      prices: { spot: 0.5, 'on-demand': 2 },
      source: 'override',
    });
    expect(fake.count('prices')).toBe(0);
  });

  it('falls back to the built-in table when the API fails, and to stale prices after a success', async () => {
    let now = 0;
    fake.failNext({ operation: 'prices', status: 503, body: { message: 'down' } });
    const source = prices({ now: () => now });
    expect(await source.forRegion('eastus')).toMatchObject({
      prices: { spot: 0.0192, 'on-demand': 0.096 },
      source: 'fallback',
    });
    fake.setRetailPrice('eastus', 'Standard_D2s_v5', { spot: 0.02, onDemand: 0.1 });
    expect((await source.forRegion('eastus')).prices.spot).toBe(0.02);
    now = 120_000;
    fake.failNext({ operation: 'prices', status: 500, body: {} });
    expect(await source.forRegion('eastus')).toMatchObject({
      prices: { spot: 0.02 },
      source: 'api',
    });
  });

  it('rejects with ProviderError when no price is known at all', async () => {
    fake.failNext({ operation: 'prices', status: 500, body: {} });
    await expect(prices({ vmSize: 'Standard_Unknown_v9' }).forRegion('eastus')).rejects.toSatisfy(
      (error: unknown) => ProviderError.isInstance(error),
    );
    await expect(
      prices({ vmSize: 'Standard_Unknown_v9', offline: true }).forRegion('eastus'),
    ).rejects.toSatisfy(
      (error: unknown) =>
        ProviderError.isInstance(error) && /prices\.overrides/.test((error as Error).message),
    );
  });

  it('never follows a NextPageLink to another origin', async () => {
    const source = prices({
      vmSize: 'Standard_Unknown_v9',
      endpoint: 'https://prices.example.test/api/retail/prices',
      fetch: async () =>
        Response.json({
          Items: [],
          NextPageLink: 'https://elsewhere.example/api/retail/prices?$skip=100',
        }),
    });
    await expect(source.forRegion('eastus')).rejects.toMatchObject({
      providerCode: 'InvalidNextPageLink',
    });
  });
});

describe('selectPrices', () => {
  const row = (fields: Partial<RetailPriceItem>): RetailPriceItem => ({
    armSkuName: 'Standard_D2s_v5',
    type: 'Consumption',
    unitOfMeasure: '1 Hour',
    productName: 'Virtual Machines Dsv5 Series',
    meterName: 'D2s v5',
    skuName: 'D2s v5',
    retailPrice: 0.096,
    ...fields,
  });

  it('skips Windows, Low Priority, reservation, other sizes and zero prices', () => {
    expect(
      selectPrices(
        [
          row({ productName: 'Virtual Machines Dsv5 Series Windows', retailPrice: 0.05 }),
          row({
            meterName: 'D2s v5 Low Priority',
            skuName: 'D2s v5 Low Priority',
            retailPrice: 0.001,
          }),
          row({ type: 'Reservation', retailPrice: 0.01 }),
          row({ type: 'DevTestConsumption', retailPrice: 0.02 }),
          row({ armSkuName: 'Standard_D4s_v5', retailPrice: 0.003 }),
          row({ meterName: 'D2s v5 Spot', skuName: 'D2s v5 Spot', retailPrice: 0 }),
          row({ meterName: 'D2s v5 Spot', skuName: 'D2s v5 Spot', retailPrice: 0.0192 }),
          row({}),
        ],
        'Standard_D2s_v5',
      ),
    ).toEqual({ spot: 0.0192, 'on-demand': 0.096 });
  });
});
