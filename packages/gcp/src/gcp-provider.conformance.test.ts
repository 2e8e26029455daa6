import { runProviderConformanceSuite } from '@spothedge/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { closeGcpClients, createGcpClients, type GcpClients } from './gcp-clients.js';
import { createGcpProvider } from './gcp-provider.js';
import { createStaticAuthClient } from './static-auth-client.js';
import { GceFake } from './testing/gce-fake.js';

// One fake and one pair of clients for the whole file: creating clients costs ~1 s.
let fake: GceFake;
let clients: GcpClients;

beforeAll(async () => {
  fake = await GceFake.start();
  clients = createGcpClients({ authClient: createStaticAuthClient(), apiEndpoint: fake.url });
});

afterAll(async () => {
  await closeGcpClients(clients);
  await fake.close();
});

const ZONE = 'us-central1-a';

runProviderConformanceSuite({
  name: 'gcp (Compute Engine fake server)',
  timeoutMs: 5_000,
  createHarness() {
    fake.reset();
    const provider = createGcpProvider({
      project: fake.project,
      zones: [ZONE, 'us-central1-b'],
      machineType: 'n2-standard-4',
      image: 'projects/debian-cloud/global/images/family/debian-12',
      createClients: () => clients,
      authClient: createStaticAuthClient(),
      replicaPort: 8080,
      pricing: { source: 'table' },
    });
    return {
      provider,
      location: `gcp/us-central1/${ZONE}`,
      instanceType: 'n2-standard-4',
      unknownInstanceId: `${ZONE}/spothedge-does-not-exist`,
      exhaustSpotCapacity: () => fake.setCapacity(ZONE, 'spot', 0),
      preempt: (instanceId) => fake.preempt(instanceId),
      createForeignInstance: (location) => fake.createForeignInstance(location.split('/')[2]!),
      instanceExists: (instanceId) => {
        const status = fake.instance(instanceId)?.['status'];
        return status !== undefined && status !== 'TERMINATED';
      },
    };
  },
});
