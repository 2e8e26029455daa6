/**
 * `@spothedge/aws`: the SpotHedge provider for AWS EC2 spot and on-demand instances.
 */
export { AwsProvider, createAwsProvider } from './aws-provider.js';
export type {
  AwsClientFactoryOptions,
  AwsCredentials,
  AwsProviderSettings,
  AwsRegionSettings,
  AwsRetrySettings,
} from './aws-provider-settings.js';
export { EC2_ERROR_KINDS, ec2ErrorKind, mapEc2Error } from './map-ec2-error.js';
export type { Ec2ErrorContext, Ec2ErrorKind } from './map-ec2-error.js';
export { SPOT_PREEMPTION_REASONS, instanceStateFromEc2 } from './map-ec2-instance.js';
export { DEFAULT_ON_DEMAND_PRICES } from './on-demand-prices.js';
export type { OnDemandPriceTable } from './on-demand-prices.js';
