/**
 * Built-in on-demand prices (USD per instance-hour, Linux, us-east-1 list prices at the
 * time of writing) for common GPU instance types and a few general-purpose ones used in
 * demos. Indicative only: prices differ by region and change over time. Override or extend
 * them with `AwsProviderSettings.onDemandPrices`; the AWS Price List API is not called
 * because it lives in a different service, needs extra permissions and is slow.
 */
export const DEFAULT_ON_DEMAND_PRICES: Readonly<Record<string, number>> = {
  // NVIDIA T4
  'g4dn.xlarge': 0.526,
  'g4dn.2xlarge': 0.752,
  'g4dn.4xlarge': 1.204,
  'g4dn.8xlarge': 2.176,
  'g4dn.12xlarge': 3.912,
  // NVIDIA A10G
  'g5.xlarge': 1.006,
  'g5.2xlarge': 1.212,
  'g5.4xlarge': 1.624,
  'g5.8xlarge': 2.448,
  'g5.12xlarge': 5.672,
  'g5.48xlarge': 16.288,
  // NVIDIA L4
  'g6.xlarge': 0.8048,
  'g6.2xlarge': 0.9776,
  'g6.12xlarge': 4.6016,
  // NVIDIA V100
  'p3.2xlarge': 3.06,
  'p3.8xlarge': 12.24,
  'p3.16xlarge': 24.48,
  // NVIDIA A100
  'p4d.24xlarge': 32.7726,
  // General purpose (demos, CPU-only replicas)
  't3.medium': 0.0416,
  'm5.large': 0.096,
  'm5.xlarge': 0.192,
  'c5.xlarge': 0.17,
};

/**
 * On-demand price overrides: a flat price for every region, or a price per region (regions
 * without an entry fall back to the built-in table).
 *
 * @example
 * ```ts
 * const onDemandPrices = { 'g5.xlarge': 1.006, 'g6e.xlarge': { 'us-east-1': 1.861 } };
 * ```
 */
export type OnDemandPriceTable = Readonly<
  Record<string, number | Readonly<Record<string, number>>>
>;

/** The on-demand price of `instanceType` in `region`, or `undefined` when unknown. */
export function onDemandPrice(options: {
  readonly instanceType: string;
  readonly region: string;
  readonly overrides?: OnDemandPriceTable | undefined;
}): number | undefined {
  const override = options.overrides?.[options.instanceType];
  if (typeof override === 'number') return override;
  if (override !== undefined && override[options.region] !== undefined) {
    return override[options.region];
  }
  return DEFAULT_ON_DEMAND_PRICES[options.instanceType];
}
