/**
 * `pnpm --filter @spothedge/example-multi-cloud start`: one service across AWS, GCP and
 * Azure, on this machine. The three clouds are the wire fakes the provider packages ship
 * (`@spothedge/{aws,gcp,azure}/testing`), reached through the real SDK clients; the
 * instances run no server, so a running instance counts as ready (on real clouds, leave
 * `prober` out and the readiness probe asks the replica). Takes a few seconds.
 */
import { startLocalClouds, AZURE_REGION, AZURE_ZONES } from './local-clouds.js';
import { createMultiCloudService, placementByCloud } from './multi-cloud-service.js';

const clouds = await startLocalClouds();
const service = createMultiCloudService(clouds.settings, {
  tickIntervalMs: 250,
  prober: { probe: () => true },
  drainMs: 0,
});
service.on('replica-ready', (event) => log(`ready     ${event.location} (${event.capacityType})`));
service.on('replica-preempt', (event) => log(`preempted ${event.location}`));
service.on('fallback-start', (event) => log(`on-demand fallback: ${event.onDemand} replica(s)`));

const started = Date.now();
function log(line: string): void {
  console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${line}`);
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const spotOnly = () => {
  const placement = placementByCloud(service);
  const ready = service.status().replicas.filter((replica) => replica.status === 'ready');
  const onDemand = Object.values(placement).some((counts) => (counts['on-demand'] ?? 0) > 0);
  return ready.length >= 4 && !onDemand;
};

try {
  await service.start();
  await until(spotOnly, 'four ready spot replicas');
  log(`spot by cloud: ${JSON.stringify(placementByCloud(service))}`);

  log('Azure runs out of spot capacity');
  for (const zone of AZURE_ZONES) clouds.arm.setCapacity(AZURE_REGION, zone, 'spot', 0);
  await until(
    () => spotOnly() && placementByCloud(service)['azure'] === undefined,
    'replacements outside Azure',
  );
  log(`spot by cloud: ${JSON.stringify(placementByCloud(service))}`);
} finally {
  await service.stop({ terminate: true });
  await clouds.close();
}
log('stopped; every instance in the three clouds terminated');
