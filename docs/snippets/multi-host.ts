import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { createService } from '@spothedge/core';
import type { ProviderV1 } from '@spothedge/core';
import { PostgresHostSync, PostgresStateStore } from '@spothedge/store-postgres';

declare const providers: ProviderV1[]; // e.g. [createAwsProvider({ region: 'us-east-1' })]

const host = process.env['HOST_ID'] ?? hostname(); // unique per host process
const routerOnly = process.env['ROUTER_ONLY'] === '1'; // this host never leads

const store = new PostgresStateStore({ connectionString: process.env['DATABASE_URL'] });
const sync = new PostgresHostSync({ store, host });
const service = createService({
  spec: {
    name: 'chat',
    replicas: { min: 2, max: 8 },
    targetQpsPerReplica: 4,
    locations: ['aws/us-east-1/us-east-1a', 'aws/us-east-1/us-east-1b'],
    instanceType: 'g5.xlarge',
    readinessProbe: { path: '/v1/models' },
  },
  providers,
  store,
  lease: { holder: host, ttlMs: 15_000, routerOnly },
  tickIntervalMs: 5_000,
  requestRecorder: sync, // this host's request counts reach the leader's autoscaler
});
sync.attach(service); // followers refresh their routing set on every change (LISTEN/NOTIFY)
await service.start();
const server = createServer(service.handler()).listen(8000);

// Shutdown: hand the lease over (released, not left to expire), leave the fleet running.
export async function shutdown(): Promise<void> {
  server.close();
  await service.stop();
  await sync.close();
  await store.close();
}
