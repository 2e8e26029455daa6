/**
 * Test-only: a `createClient` for the Azure provider that talks to an {@link ArmFake}
 * through the real `ComputeManagementClient` and never asks for a token.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ComputeManagementClient } from '@azure/arm-compute';
import { bearerTokenAuthenticationPolicyName } from '@azure/core-rest-pipeline';
import type { AzureClientFactoryOptions } from '../azure-provider-settings.js';

/** A credential that counts (and refuses) token requests. */
export class CountingCredential implements TokenCredential {
  tokenRequests = 0;
  async getToken(): Promise<AccessToken | null> {
    this.tokenRequests += 1;
    throw new Error('CountingCredential: no token may be requested in tests');
  }
}

/**
 * Builds clients whose bearer-token policy is replaced by one that sets a fixed
 * `Authorization` header, so no token is ever fetched.
 */
export function fakeArmClientFactory(
  credential: TokenCredential = new CountingCredential(),
): (options: AzureClientFactoryOptions) => ComputeManagementClient {
  return (options) => {
    const client = new ComputeManagementClient(credential, options.subscriptionId, {
      endpoint: options.endpoint,
      allowInsecureConnection: true,
      retryOptions: { maxRetries: options.maxRetries },
    });
    client.pipeline.removePolicy({ name: bearerTokenAuthenticationPolicyName });
    client.pipeline.addPolicy({
      name: 'fakeArmAuthorization',
      sendRequest: (request, next) => {
        request.headers.set('authorization', 'Bearer fake-token-for-tests');
        return next(request);
      },
    });
    return client;
  };
}
