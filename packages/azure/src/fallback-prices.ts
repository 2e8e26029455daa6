import type { CapacityType } from '@spothedge/core';

/**
 * Built-in Linux pay-as-you-go prices in USD per hour (US East list prices, rounded),
 * used only when the Retail Prices API cannot be reached and no override is set. Spot
 * prices move daily; these are typical values, good enough for relative placement,
 * never for billing.
 */
export const FALLBACK_PRICES: Readonly<Record<string, Readonly<Record<CapacityType, number>>>> = {
  Standard_B2s: { 'on-demand': 0.0416, spot: 0.0083 },
  Standard_D2s_v3: { 'on-demand': 0.096, spot: 0.0192 },
  Standard_D4s_v3: { 'on-demand': 0.192, spot: 0.0384 },
  Standard_D2s_v5: { 'on-demand': 0.096, spot: 0.0192 },
  Standard_D4s_v5: { 'on-demand': 0.192, spot: 0.0384 },
  Standard_D8s_v5: { 'on-demand': 0.384, spot: 0.0768 },
  Standard_NC4as_T4_v3: { 'on-demand': 0.526, spot: 0.1578 },
  Standard_NC8as_T4_v3: { 'on-demand': 0.752, spot: 0.2256 },
  Standard_NC6s_v3: { 'on-demand': 3.06, spot: 0.918 },
  Standard_NC24ads_A100_v4: { 'on-demand': 3.673, spot: 1.1019 },
  Standard_NV36ads_A10_v5: { 'on-demand': 3.2, spot: 0.96 },
  Standard_ND96asr_v4: { 'on-demand': 27.197, spot: 8.159 },
};

/** The fallback price of a size, or undefined when the table does not know it. */
export function fallbackPrice(vmSize: string, capacityType: CapacityType): number | undefined {
  const entry = Object.entries(FALLBACK_PRICES).find(
    ([size]) => size.toLowerCase() === vmSize.toLowerCase(),
  );
  return entry?.[1][capacityType];
}
