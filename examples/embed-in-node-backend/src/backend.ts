/**
 * A plain node:http backend that embeds spothedge: `/v1/*` goes to the replicas through
 * `service.handler()`, `/status` reports the fleet, everything else is the host's own.
 * Replicas run locally here (LocalProvider); swap in `createAwsProvider(...)` and friends
 * for a cloud.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createService, type ProviderV1, type Service } from '@spothedge/core';
import { createLocalProvider } from '@spothedge/local';

export interface BackendOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default a LocalProvider with three locations */
  readonly provider?: ProviderV1;
  /** Where preemptions and fallbacks are logged. @default console.log */
  readonly log?: (line: string) => void;
}

export interface Backend {
  readonly url: string;
  readonly service: Service;
  close(): Promise<void>;
}

export async function startBackend(options: BackendOptions = {}): Promise<Backend> {
  const log = options.log ?? console.log;
  const provider = options.provider ?? createLocalProvider({ locations: 3, coldStartMs: 500 });
  const service = createService({
    spec: {
      name: 'chat',
      replicas: 2,
      locations: provider.locations().map((location) => location.id),
      instanceType: 'local-process',
      readinessProbe: {
        path: '/health',
        initialDelaySeconds: 30,
        periodSeconds: 0.5,
        timeoutSeconds: 1,
      },
    },
    providers: [provider],
    tickIntervalMs: 500,
    drainMs: 500,
  });
  service.on('replica-preempt', (event) => {
    log(`preempted: replica ${event.replicaId} in ${event.location} (${event.reason})`);
  });
  service.on('fallback-start', (event) => log(`on-demand fallback: ${event.onDemand} on-demand`));
  service.on('fallback-end', () => log('on-demand fallback over'));

  const proxy = service.handler();
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/v1/')) {
      proxy(request, response);
      return;
    }
    if (request.url === '/status') {
      const status = service.status();
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ target: status.target, ready: status.ready.length }));
      return;
    }
    response.statusCode = 404;
    response.end('not found');
  });
  await service.start();
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    async close() {
      server.close();
      server.closeAllConnections();
      await service.stop({ terminate: true });
      await provider.close?.();
    },
  };
}
