/**
 * `@spothedge/gcp`: a SpotHedge provider for Google Compute Engine over
 * `@google-cloud/compute` — spot and on-demand VMs across zones, labelled for ownership,
 * priced from the Cloud Billing Catalog.
 */
export {
  createGcpProvider,
  GcpProvider,
  GCP_CLOUD,
  PREEMPTED_OPERATION_TYPE,
} from './gcp-provider.js';
export {
  validateGcpProviderSettings,
  regionOfZone,
  type GcpProviderSettings,
  type GcpAccelerator,
  type GcpPricingSettings,
  type GcpPriceOverride,
  type GcpServiceAccount,
} from './gcp-provider-settings.js';
export {
  createGcpClients,
  closeGcpClients,
  type GcpClients,
  type CreateGcpClientsOptions,
} from './gcp-clients.js';
export {
  createStaticAuthClient,
  type GcpAuthClient,
  type StaticAuthClientOptions,
} from './static-auth-client.js';
export {
  mapGcpError,
  mapOperationError,
  type GcpErrorContext,
  type GcpOperationErrorItem,
} from './gcp-error.js';
export {
  toLabels,
  toLabelKey,
  toLabelValue,
  labelFilter,
  TAGS_METADATA_KEY,
} from './gcp-labels.js';
export { deterministicUuid, instanceNameFor } from './instance-naming.js';
export { parseMachineShape, machineSeries, type MachineShape } from './machine-shape.js';
export {
  FALLBACK_UNIT_PRICES,
  type GcpUnitPrices,
  type SeriesUnitPrices,
} from './gcp-price-table.js';
export {
  fetchBillingSkus,
  unitPricesFromSkus,
  skuHourlyPrice,
  COMPUTE_ENGINE_SERVICE_ID,
  type BillingSku,
  type RegionUnitPrices,
} from './billing-catalog.js';
export { composeMachinePrice, type ComposePriceOptions, type ComposedPrice } from './gcp-prices.js';
