/**
 * `@spothedge/gcp/testing`: a local Compute Engine (and Cloud Billing Catalog) fake for
 * testing code that uses the GCP provider without a cloud. Point the real clients at it
 * with `createGcpClients({ apiEndpoint: fake.url, authClient: createStaticAuthClient() })`.
 */
export { GceFake } from './gce-fake.js';
export type { GceFakeFault, GceFakeMethod, GceFakeOptions } from './gce-fake.js';
