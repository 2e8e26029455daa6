import type { InstancesClient, ZoneOperationsClient } from '@google-cloud/compute';
import type { GcpAuthClient } from './static-auth-client.js';

/** The Compute Engine clients the provider calls. */
export interface GcpClients {
  readonly instances: InstancesClient;
  readonly zoneOperations: ZoneOperationsClient;
}

export interface CreateGcpClientsOptions {
  /** Always explicit: the clients never look for credentials on their own. */
  readonly authClient: GcpAuthClient;
  /**
   * Compute Engine endpoint, e.g. `http://127.0.0.1:8080` for an emulator.
   * @default 'https://compute.googleapis.com'
   */
  readonly apiEndpoint?: string | undefined;
}

/** Endpoint options for the google-gax REST transport, from a URL or a bare host. */
export function endpointOptions(apiEndpoint: string | undefined): {
  apiEndpoint?: string;
  port?: number;
  protocol?: string;
} {
  if (apiEndpoint === undefined) return {};
  if (!/^[a-z]+:\/\//i.test(apiEndpoint)) return { apiEndpoint };
  const url = new URL(apiEndpoint);
  const protocol = url.protocol.replace(/:$/, '');
  const port = url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port);
  return { apiEndpoint: url.hostname, port, protocol };
}

/**
 * Creates the Compute Engine clients over the REST transport with an explicit auth
 * client (loading `@google-cloud/compute` on first use). Creating clients costs about a second: share them between providers when you
 * create many (tests), and close them with {@link closeGcpClients}.
 */
export async function createGcpClients(options: CreateGcpClientsOptions): Promise<GcpClients> {
  // Loaded on first use: the client library is large, and a provider that is only
  // configured (or only prices offerings) never needs it.
  const { InstancesClient, ZoneOperationsClient } = await import('@google-cloud/compute');
  const clientOptions = {
    ...endpointOptions(options.apiEndpoint),
    fallback: true,
    // The static type wants a google-auth-library AuthClient; google-gax only calls
    // `getRequestHeaders` and `fetch`, which GcpAuthClient guarantees.
    authClient: options.authClient as never,
  };
  return {
    instances: new InstancesClient({ ...clientOptions }),
    zoneOperations: new ZoneOperationsClient({ ...clientOptions }),
  };
}

/** Closes clients created by {@link createGcpClients}. */
export async function closeGcpClients(clients: GcpClients): Promise<void> {
  await Promise.all([clients.instances.close(), clients.zoneOperations.close()]);
}
