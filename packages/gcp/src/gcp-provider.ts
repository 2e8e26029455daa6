import type { protos } from '@google-cloud/compute';
import {
  AbortedError,
  CAPACITY_TYPES,
  IllegalStateError,
  InvalidArgumentError,
  NotOwnedError,
  UpstreamTimeoutError,
  describeValue,
  hasTags,
  locationId,
  replicaEndpoint,
  throwIfAborted,
  type CallContext,
  type CapacityType,
  type Instance,
  type InstanceState,
  type LaunchRequest,
  type ListRequest,
  type Location,
  type Offering,
  type ProviderV1,
  type TerminateRequest,
} from '@spothedge/core';
import { fetchBillingSkus, unitPricesFromSkus, type RegionUnitPrices } from './billing-catalog.js';
import { closeGcpClients, createGcpClients, type GcpClients } from './gcp-clients.js';
import {
  isAlreadyExists,
  isNotFound,
  mapGcpError,
  mapOperationError,
  type GcpErrorContext,
} from './gcp-error.js';
import { TAGS_METADATA_KEY, labelFilter, toLabels } from './gcp-labels.js';
import { composeMachinePrice } from './gcp-prices.js';
import {
  regionOfZone,
  validateGcpProviderSettings,
  type GcpProviderSettings,
} from './gcp-provider-settings.js';
import { deterministicUuid, instanceNameFor } from './instance-naming.js';
import { machineSeries, parseMachineShape } from './machine-shape.js';

type ComputeInstance = protos.google.cloud.compute.v1.IInstance;
type ComputeOperation = protos.google.cloud.compute.v1.IOperation;

/** Cloud name, also the first part of every location id: `gcp/<region>/<zone>`. */
export const GCP_CLOUD = 'gcp';

/** Operation type Compute Engine records when it reclaims a spot instance. */
export const PREEMPTED_OPERATION_TYPE = 'compute.instances.preempted';

const DEFAULT_CATALOG_ENDPOINT = 'https://cloudbilling.googleapis.com';
const DEFAULT_CACHE_TTL_MS = 6 * 60 * 60 * 1000;
const DEFAULT_OPERATION_TIMEOUT_MS = 300_000;
const PAGE_SIZE = 500;
const MAX_PAGES = 1_000;

// The engine owns retries (with backoff and its own budget): every call fails fast.
const CALL_OPTIONS = { retry: { retryCodes: [] as number[] }, timeout: 60_000 };

/** Maps a Compute Engine instance status to our state (TERMINATED is decided by the caller). */
function stateOfStatus(status: string | null | undefined): InstanceState {
  switch (status) {
    case 'PROVISIONING':
    case 'STAGING':
    case 'REPAIRING':
      return 'pending';
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
    case 'SUSPENDED':
      return 'stopping';
    default:
      return 'terminated';
  }
}

function lastSegment(url: string | null | undefined): string {
  return (url ?? '').split('/').pop() ?? '';
}

function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  action: string,
): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new AbortedError(`GCP ${action} was aborted`, { cause: signal.reason }));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Like `Promise.all`, but rejects only once every call has settled, so that no request is
 * left in flight behind a rejected `list`.
 */
async function settleAll<T extends readonly unknown[]>(promises: {
  readonly [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

interface CatalogCache {
  readonly fetchedAt: number;
  readonly prices: Map<string, RegionUnitPrices>;
}

/**
 * A {@link ProviderV1} over Compute Engine. Create it with {@link createGcpProvider}.
 *
 * Instance ids are `<zone>/<name>`; instance names derive from the launch's idempotency
 * key, and the insert's `requestId` is a UUID derived from it too.
 */
export class GcpProvider implements ProviderV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name = GCP_CLOUD;

  readonly #settings: GcpProviderSettings;
  readonly #locations: readonly Location[];
  #clients: Promise<GcpClients> | undefined;
  #ownsClients = false;
  #closed = false;
  #catalog: CatalogCache | undefined;
  #catalogLoading: Promise<CatalogCache> | undefined;
  /** Last seen instances, to report those deleted by a preemption as `preempted`. */
  readonly #seen = new Map<string, Instance>();

  constructor(settings: GcpProviderSettings) {
    validateGcpProviderSettings(settings);
    this.#settings = settings;
    this.#locations = settings.zones.map((zone) => {
      const region = regionOfZone(zone);
      return { id: locationId(GCP_CLOUD, region, zone), cloud: GCP_CLOUD, region, zone };
    });
  }

  locations(): readonly Location[] {
    return this.#locations;
  }

  // Clients are created on first use (creating them costs about a second).
  async #getClients(): Promise<GcpClients> {
    if (this.#closed)
      throw new IllegalStateError('The GCP provider is closed', { state: 'closed' });
    this.#clients ??= this.#createClients();
    return this.#clients;
  }

  async #createClients(): Promise<GcpClients> {
    if (this.#settings.createClients !== undefined) return this.#settings.createClients();
    this.#ownsClients = true;
    return createGcpClients({
      authClient: this.#settings.authClient!,
      apiEndpoint: this.#settings.apiEndpoint,
    });
  }

  #zoneOf(location: string): string {
    const found = this.#locations.find((candidate) => candidate.id === location);
    if (found?.zone === undefined) {
      throw new InvalidArgumentError(
        `Expected \`location\` to be one of ${this.#locations.map((item) => item.id).join(', ')}, got ${describeValue(location)}`,
        { argument: 'location', value: location },
      );
    }
    return found.zone;
  }

  // ---------------------------------------------------------------- offerings

  async offerings(context: CallContext = {}): Promise<readonly Offering[]> {
    throwIfAborted(context.abortSignal);
    const pricing = this.#settings.pricing ?? {};
    const catalog = pricing.source === 'table' ? undefined : await this.#loadCatalog(context);
    const shape = pricing.machineShape ?? parseMachineShape(this.#settings.machineType);
    const offerings: Offering[] = [];
    for (const location of this.#locations) {
      for (const capacityType of CAPACITY_TYPES) {
        const price = composeMachinePrice({
          machineType: this.#settings.machineType,
          region: location.region,
          capacityType,
          shape,
          accelerators: this.#settings.accelerators ?? [],
          catalog: catalog?.prices.get(location.region),
          overrides: pricing.overrides ?? {},
        });
        offerings.push({
          location: location.id,
          instanceType: this.#settings.machineType,
          capacityType,
          hourlyPrice: price.hourlyPrice,
          priceAsOf: price.source === 'catalog' ? catalog?.fetchedAt : undefined,
        });
      }
    }
    return offerings;
  }

  /** Catalog prices, cached; on failure the stale cache, else none (the table is used). */
  async #loadCatalog(context: CallContext): Promise<CatalogCache | undefined> {
    const pricing = this.#settings.pricing ?? {};
    const ttl = pricing.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    const cached = this.#catalog;
    if (cached !== undefined && Date.now() - cached.fetchedAt < ttl) return cached;
    this.#catalogLoading ??= this.#fetchCatalog().finally(() => {
      this.#catalogLoading = undefined;
    });
    try {
      this.#catalog = await abortable(
        this.#catalogLoading,
        context.abortSignal,
        'price catalog read',
      );
      return this.#catalog;
    } catch (error) {
      if (AbortedError.isInstance(error)) throw error;
      // Prices only rank offerings: a stale or built-in price beats no offering at all.
      return cached;
    }
  }

  async #fetchCatalog(): Promise<CatalogCache> {
    const pricing = this.#settings.pricing ?? {};
    let headers: Record<string, string> = {};
    if (pricing.apiKey === undefined && this.#settings.authClient !== undefined) {
      const raw = await this.#settings.authClient.getRequestHeaders();
      headers =
        raw instanceof Headers
          ? Object.fromEntries(raw.entries())
          : { ...(raw as Record<string, string>) };
    }
    const skus = await fetchBillingSkus({
      fetch: pricing.fetch ?? globalThis.fetch,
      endpoint: pricing.catalogEndpoint ?? DEFAULT_CATALOG_ENDPOINT,
      headers,
      apiKey: pricing.apiKey,
    });
    const shape = pricing.machineShape ?? parseMachineShape(this.#settings.machineType);
    const gpuTypes = [
      ...(shape?.gpus ?? []).map((gpu) => gpu.type),
      ...(this.#settings.accelerators ?? []).map((gpu) => gpu.type),
    ];
    return {
      fetchedAt: Date.now(),
      prices: unitPricesFromSkus(skus, {
        regions: [...new Set(this.#locations.map((location) => location.region))],
        series: [machineSeries(this.#settings.machineType)],
        gpuTypes,
      }),
    };
  }

  // ---------------------------------------------------------------- launch

  async launch(request: LaunchRequest, context: CallContext = {}): Promise<Instance> {
    throwIfAborted(context.abortSignal);
    const zone = this.#zoneOf(request.location);
    if (request.instanceType !== this.#settings.machineType) {
      throw new InvalidArgumentError(
        `Expected \`instanceType\` to be the configured machine type ${describeValue(this.#settings.machineType)}, got ${describeValue(request.instanceType)}`,
        { argument: 'instanceType', value: request.instanceType },
      );
    }
    if (typeof request.idempotencyKey !== 'string' || request.idempotencyKey === '') {
      throw new InvalidArgumentError(
        `Expected \`idempotencyKey\` to be a non-empty string, got ${describeValue(request.idempotencyKey)}`,
        { argument: 'idempotencyKey', value: request.idempotencyKey },
      );
    }
    const { project } = this.#settings;
    const name = instanceNameFor(
      this.#settings.instanceNamePrefix ?? 'spothedge',
      request.idempotencyKey,
    );
    const errorContext: GcpErrorContext = {
      action: `insert of instance ${name} in ${zone}`,
      location: request.location,
      capacityType: request.capacityType,
      notFoundIsConfig: true,
    };
    const clients = await this.#getClients();
    let operation: ComputeOperation | undefined;
    try {
      const [response] = await abortable(
        clients.instances.insert(
          {
            project,
            zone,
            requestId: deterministicUuid(`${project}/${zone}/${name}`),
            instanceResource: this.#instanceResource(request, zone, name),
          },
          CALL_OPTIONS,
        ),
        context.abortSignal,
        errorContext.action,
      );
      operation = response.latestResponse as ComputeOperation;
    } catch (error) {
      // Created earlier under the same key (the request id window may have passed).
      if (!isAlreadyExists(error)) throw mapGcpError(error, errorContext);
    }
    if (operation !== undefined) {
      const done = await this.#waitForOperation(operation, zone, errorContext, context);
      const errors = done.error?.errors ?? [];
      if (errors.length > 0) throw mapOperationError(errors, errorContext, done.error);
    }
    const instance = await this.#getInstance(
      zone,
      name,
      { ...errorContext, action: `get of instance ${name}`, notFoundIsConfig: false },
      context,
    );
    if (instance === undefined) {
      // Created and already gone (a spot instance reclaimed at once).
      return {
        id: `${zone}/${name}`,
        location: request.location,
        instanceType: request.instanceType,
        capacityType: request.capacityType,
        state: request.capacityType === 'spot' ? 'preempted' : 'terminated',
        stateReason: 'deleted right after creation',
        tags: { ...request.tags },
        launchedAt: Date.now(),
      };
    }
    const result = this.#toInstance(instance, zone, new Set());
    if (!hasTags(result.tags, request.tags)) {
      throw new NotOwnedError(
        `Instance ${result.id} already exists without the launch's tags; refusing to adopt it`,
        { instanceId: result.id },
      );
    }
    this.#seen.set(result.id, result);
    return result;
  }

  #instanceResource(request: LaunchRequest, zone: string, name: string): ComputeInstance {
    const settings = this.#settings;
    const spot = request.capacityType === 'spot';
    const shape = parseMachineShape(settings.machineType);
    const hasGpus = (settings.accelerators ?? []).length > 0 || (shape?.gpus ?? []).length > 0;
    const startupScript = request.startupScript ?? settings.startupScript;
    const items: { key: string; value: string }[] = [
      { key: TAGS_METADATA_KEY, value: JSON.stringify(request.tags) },
    ];
    if (startupScript !== undefined) items.push({ key: 'startup-script', value: startupScript });
    return {
      name,
      machineType: `zones/${zone}/machineTypes/${settings.machineType}`,
      labels: { ...settings.labels, ...toLabels(request.tags) },
      metadata: { items },
      scheduling: spot
        ? {
            provisioningModel: 'SPOT',
            instanceTerminationAction: 'DELETE',
            automaticRestart: false,
            onHostMaintenance: 'TERMINATE',
          }
        : {
            provisioningModel: 'STANDARD',
            automaticRestart: true,
            // GPUs cannot live-migrate.
            onHostMaintenance: hasGpus ? 'TERMINATE' : 'MIGRATE',
          },
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            sourceImage: settings.image,
            diskSizeGb: String(settings.diskSizeGb ?? 50),
            diskType: `zones/${zone}/diskTypes/${settings.diskType ?? 'pd-balanced'}`,
          },
        },
      ],
      networkInterfaces: [
        {
          network: settings.network ?? 'global/networks/default',
          ...(settings.subnetwork === undefined ? {} : { subnetwork: settings.subnetwork }),
          accessConfigs:
            settings.externalIp === true ? [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] : [],
        },
      ],
      guestAccelerators: (settings.accelerators ?? []).map((accelerator) => ({
        acceleratorType: `zones/${zone}/acceleratorTypes/${accelerator.type}`,
        acceleratorCount: accelerator.count,
      })),
      serviceAccounts:
        settings.serviceAccount === undefined
          ? []
          : [
              {
                email: settings.serviceAccount.email,
                scopes: [
                  ...(settings.serviceAccount.scopes ?? [
                    'https://www.googleapis.com/auth/cloud-platform',
                  ]),
                ],
              },
            ],
    };
  }

  async #waitForOperation(
    operation: ComputeOperation,
    zone: string,
    errorContext: GcpErrorContext,
    context: CallContext,
  ): Promise<ComputeOperation> {
    const deadline =
      Date.now() + (this.#settings.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS);
    let current = operation;
    while (current.status !== 'DONE') {
      throwIfAborted(context.abortSignal);
      if (Date.now() > deadline) {
        throw new UpstreamTimeoutError(
          `GCP operation ${current.name ?? '?'} (${errorContext.action}) did not finish in time; the instance may still appear in list()`,
        );
      }
      try {
        const [next] = await abortable(
          (await this.#getClients()).zoneOperations.wait(
            { project: this.#settings.project, zone, operation: current.name ?? '' },
            { ...CALL_OPTIONS, timeout: 150_000 },
          ),
          context.abortSignal,
          errorContext.action,
        );
        current = next;
      } catch (error) {
        throw mapGcpError(error, { ...errorContext, notFoundIsConfig: false });
      }
    }
    return current;
  }

  async #getInstance(
    zone: string,
    name: string,
    errorContext: GcpErrorContext,
    context: CallContext,
  ): Promise<ComputeInstance | undefined> {
    try {
      const [instance] = await abortable(
        (await this.#getClients()).instances.get(
          { project: this.#settings.project, zone, instance: name },
          CALL_OPTIONS,
        ),
        context.abortSignal,
        errorContext.action,
      );
      return instance;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw mapGcpError(error, errorContext);
    }
  }

  #toInstance(raw: ComputeInstance, zone: string, preemptedNames: ReadonlySet<string>): Instance {
    const name = raw.name ?? '';
    const region = regionOfZone(zone);
    const labels: Record<string, string> = { ...(raw.labels ?? {}) };
    let tags: Record<string, string> = labels;
    const stored = raw.metadata?.items?.find((item) => item.key === TAGS_METADATA_KEY)?.value;
    if (typeof stored === 'string') {
      try {
        const original = JSON.parse(stored) as Record<string, string>;
        // Trust the original tags only while the labels still agree with them.
        if (hasTags(labels, toLabels(original))) tags = { ...labels, ...original };
      } catch {
        // Not ours or damaged: the labels alone are the tags.
      }
    }
    const scheduling = raw.scheduling ?? {};
    const capacityType: CapacityType =
      scheduling.provisioningModel === 'SPOT' || scheduling.preemptible === true
        ? 'spot'
        : 'on-demand';
    let state = stateOfStatus(raw.status);
    let stateReason: string | undefined = raw.status ?? undefined;
    if (raw.status === 'TERMINATED' && capacityType === 'spot' && preemptedNames.has(name)) {
      state = 'preempted';
      stateReason = PREEMPTED_OPERATION_TYPE;
    }
    const networkInterface = raw.networkInterfaces?.[0];
    const address =
      this.#settings.endpointAddress === 'external'
        ? networkInterface?.accessConfigs?.[0]?.natIP
        : networkInterface?.networkIP;
    const launchedAt = Date.parse(raw.creationTimestamp ?? '');
    return {
      id: `${zone}/${name}`,
      location: locationId(GCP_CLOUD, region, zone),
      instanceType: lastSegment(raw.machineType),
      capacityType,
      state,
      stateReason,
      tags,
      launchedAt: Number.isNaN(launchedAt) ? 0 : launchedAt,
      endpoint: replicaEndpoint({
        address: address ?? undefined,
        tags,
        port: this.#settings.replicaPort,
      }),
    };
  }

  // ---------------------------------------------------------------- list

  async list(request: ListRequest, context: CallContext = {}): Promise<readonly Instance[]> {
    throwIfAborted(context.abortSignal);
    const filter = labelFilter(toLabels(request.tags));
    const perZone = await settleAll(
      this.#settings.zones.map(async (zone) => {
        const [instances, preempted] = await settleAll([
          this.#listInstances(zone, filter, context),
          this.#listPreemptedNames(zone, context),
        ] as const);
        return { zone, instances, preempted };
      }),
    );
    const result: Instance[] = [];
    const listed = new Set<string>();
    const preemptedIds = new Set<string>();
    for (const { zone, instances, preempted } of perZone) {
      for (const name of preempted) preemptedIds.add(`${zone}/${name}`);
      for (const raw of instances) {
        const instance = this.#toInstance(raw, zone, preempted);
        // The filter ran on labels; check the original tags as well.
        if (!hasTags(instance.tags, request.tags)) continue;
        result.push(instance);
        listed.add(instance.id);
        this.#seen.set(instance.id, instance);
      }
    }
    // Spot instances we saw before, deleted by a preemption since: report them preempted
    // while Compute Engine still lists the preemption operation.
    for (const [id, last] of this.#seen) {
      if (listed.has(id) || !hasTags(last.tags, request.tags)) continue;
      if (preemptedIds.has(id) && last.capacityType === 'spot') {
        result.push({
          ...last,
          state: 'preempted',
          stateReason: PREEMPTED_OPERATION_TYPE,
          endpoint: undefined,
        });
      } else {
        this.#seen.delete(id);
      }
    }
    return result;
  }

  async #listInstances(
    zone: string,
    filter: string,
    context: CallContext,
  ): Promise<ComputeInstance[]> {
    const items: ComputeInstance[] = [];
    let pageToken = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      try {
        const [pageItems, , raw] = await abortable(
          (await this.#getClients()).instances.list(
            { project: this.#settings.project, zone, filter, maxResults: PAGE_SIZE, pageToken },
            { ...CALL_OPTIONS, autoPaginate: false },
          ),
          context.abortSignal,
          `list of instances in ${zone}`,
        );
        items.push(...pageItems);
        pageToken = raw?.nextPageToken ?? '';
      } catch (error) {
        throw mapGcpError(error, { action: `list of instances in ${zone}` });
      }
      if (pageToken === '') return items;
    }
    return items;
  }

  /** Names of instances reclaimed in `zone`, from its `compute.instances.preempted` operations. */
  async #listPreemptedNames(zone: string, context: CallContext): Promise<Set<string>> {
    const names = new Set<string>();
    let pageToken = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      try {
        const [operations, , raw] = await abortable(
          (await this.#getClients()).zoneOperations.list(
            {
              project: this.#settings.project,
              zone,
              filter: `operationType = "${PREEMPTED_OPERATION_TYPE}"`,
              maxResults: PAGE_SIZE,
              pageToken,
            },
            { ...CALL_OPTIONS, autoPaginate: false },
          ),
          context.abortSignal,
          `list of operations in ${zone}`,
        );
        for (const operation of operations) {
          if (operation.operationType === PREEMPTED_OPERATION_TYPE) {
            names.add(lastSegment(operation.targetLink));
          }
        }
        pageToken = raw?.nextPageToken ?? '';
      } catch (error) {
        throw mapGcpError(error, { action: `list of operations in ${zone}` });
      }
      if (pageToken === '') return names;
    }
    return names;
  }

  // ---------------------------------------------------------------- terminate

  async terminate(request: TerminateRequest, context: CallContext = {}): Promise<void> {
    throwIfAborted(context.abortSignal);
    // An empty tag set would match every instance: never terminate on that basis.
    if (Object.keys(request.tags).length === 0) {
      throw new InvalidArgumentError(
        `Expected \`tags\` to name the ownership tags the instance must carry, got ${describeValue(request.tags)}`,
        { argument: 'tags', value: request.tags },
      );
    }
    const match = /^([a-z]+-[a-z]+\d+-[a-z])\/([a-z]([-a-z0-9]*[a-z0-9])?)$/.exec(
      request.instanceId,
    );
    // Not of the `<zone>/<name>` form: no instance of ours can have that id.
    if (match === null) return;
    const [, zone = '', name = ''] = match;
    const action = `delete of instance ${name} in ${zone}`;
    const raw = await this.#getInstance(zone, name, { action }, context);
    if (raw === undefined) {
      this.#seen.delete(request.instanceId);
      return;
    }
    const instance = this.#toInstance(raw, zone, new Set());
    if (!hasTags(instance.tags, request.tags)) {
      throw new NotOwnedError(
        `Refusing to terminate instance ${request.instanceId}: it lacks the ownership tags ${JSON.stringify(request.tags)}`,
        { instanceId: request.instanceId },
      );
    }
    let operation: ComputeOperation;
    try {
      const [response] = await abortable(
        (await this.#getClients()).instances.delete(
          { project: this.#settings.project, zone, instance: name },
          CALL_OPTIONS,
        ),
        context.abortSignal,
        action,
      );
      operation = response.latestResponse as ComputeOperation;
    } catch (error) {
      if (isNotFound(error)) return;
      throw mapGcpError(error, { action });
    }
    const errors = operation.error?.errors ?? [];
    if (errors.length > 0) throw mapOperationError(errors, { action }, operation.error);
    this.#seen.delete(request.instanceId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const clients = this.#clients;
    this.#clients = undefined;
    if (clients === undefined || !this.#ownsClients) return;
    // Clients that failed to load have nothing to close.
    const created = await clients.catch(() => undefined);
    if (created !== undefined) await closeGcpClients(created);
  }
}

/**
 * Creates a Compute Engine provider. Settings are validated at once (`InvalidConfigError`
 * naming the setting and the value); clients are created on first use with the explicit
 * auth client — the provider never looks for credentials or calls the metadata server.
 *
 * @example
 * ```ts
 * import { GoogleAuth } from 'google-auth-library';
 * import { createGcpProvider } from '@spothedge/gcp';
 *
 * const gcp = createGcpProvider({
 *   project: 'my-project',
 *   zones: ['us-central1-a', 'us-central1-b'],
 *   machineType: 'g2-standard-8',
 *   image: 'projects/my-project/global/images/family/llm-server',
 *   authClient: await new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' }).getClient(),
 *   replicaPort: 8080,
 * });
 * ```
 */
export function createGcpProvider(settings: GcpProviderSettings): GcpProvider {
  return new GcpProvider(settings);
}
