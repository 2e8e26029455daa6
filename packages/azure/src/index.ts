/**
 * `@spothedge/azure`: the SpotHedge provider for Azure Virtual Machines (Spot and
 * regular priority) over `@azure/arm-compute`.
 */
export {
  createAzureProvider,
  AZURE_PROVIDER_NAME,
  NETWORK_API_VERSION,
  NETWORK_INTERFACE_API_VERSION,
  type AzureProvider,
} from './azure-provider.js';
export type {
  AzureProviderSettings,
  AzureLocationSettings,
  AzureImageReference,
  AzureClientFactoryOptions,
  AzurePriceSettings,
  AzurePriceOverride,
} from './azure-provider-settings.js';
export {
  mapAzureError,
  parseRetryAfter,
  CAPACITY_CODES,
  QUOTA_CODES,
  AUTH_CODES,
  INVALID_CONFIG_CODES,
  type ArmErrorDetail,
  type AzureErrorContext,
} from './map-azure-error.js';
export { mapVmState, type VmState, type VmStateInput } from './vm-state.js';
export { vmNameForKey } from './vm-name.js';
export { selectPrices, type RetailPriceItem, type RetailPricePage } from './retail-prices.js';
export { FALLBACK_PRICES } from './fallback-prices.js';
