import { ComputeManagementClient, type VirtualMachine } from '@azure/arm-compute';
import {
  createDefaultHttpClient,
  createPipelineRequest,
  type HttpClient,
} from '@azure/core-rest-pipeline';
import {
  AbortedError,
  describeValue,
  hasTags,
  InvalidArgumentError,
  locationId,
  replicaEndpoint,
  replicaPortOf,
  NotOwnedError,
  OwnershipTag,
  throwIfAborted,
  type SpotHedgeError,
  type CallContext,
  type CapacityType,
  type Instance,
  type LaunchRequest,
  type ListRequest,
  type Location,
  type Offering,
  type ProviderV1,
  type TerminateRequest,
} from '@spothedge/core';
import {
  MAX_CUSTOM_DATA_BYTES,
  MAX_USER_TAGS,
  resolveAzureSettings,
  type AzureProviderSettings,
  type ResolvedAzureSettings,
} from './azure-provider-settings.js';
import {
  isFailedOperationError,
  mapAzureError,
  type AzureErrorContext,
} from './map-azure-error.js';
import { OperationErrorRecorder } from './operation-error-policy.js';
import { RetailPrices } from './retail-prices.js';
import { vmNameForKey } from './vm-name.js';
import { mapVmState } from './vm-state.js';

/** Provider name and the cloud part of every location id: `azure/<region>[/<zone>]`. */
export const AZURE_PROVIDER_NAME = 'azure';
/** Network API version used to create the NIC inline with the VM. */
export const NETWORK_API_VERSION = '2022-11-01';
/** API version used to read a NIC's private IP. */
export const NETWORK_INTERFACE_API_VERSION = '2023-09-01';
/** How many VMs `list` describes at once (one instance-view call each). */
const DESCRIBE_CONCURRENCY = 8;
/** Private IPs remembered (by NIC id) at most. */
const MAX_CACHED_ADDRESSES = 4096;
const IDEMPOTENCY_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/;
const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The Azure provider: a {@link ProviderV1} plus the client it drives. */
export interface AzureProvider extends ProviderV1 {
  readonly name: typeof AZURE_PROVIDER_NAME;
  /** The ARM compute client (built from `credential`, or by `createClient`). */
  readonly client: ComputeManagementClient;
  /** The VM name a launch with this idempotency key creates (or finds). */
  vmName(idempotencyKey: string): string;
  /** Drops cached prices and addresses. The client holds no timers. */
  close(): Promise<void>;
}

/**
 * Creates the Azure provider: Spot and regular VMs in one resource group, over
 * `@azure/arm-compute`. Settings are validated at once (`InvalidConfigError`); no call to
 * Azure happens until a provider method runs.
 *
 * @example
 * ```ts
 * import { DefaultAzureCredential } from '@azure/identity';
 * const azure = createAzureProvider({
 *   subscriptionId: '00000000-0000-0000-0000-000000000000',
 *   resourceGroup: 'llm-serving',
 *   locations: [{ region: 'eastus', zones: ['1', '2', '3'] }],
 *   vmSize: 'Standard_NC4as_T4_v3',
 *   image: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
 *   subnetId: '/subscriptions/…/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/replicas',
 *   sshPublicKey: 'ssh-ed25519 AAAA… ops@example.com',
 *   credential: new DefaultAzureCredential(),
 * });
 * ```
 */
export function createAzureProvider(settings: AzureProviderSettings): AzureProvider {
  return new AzureVmProvider(resolveAzureSettings(settings));
}

function notFound(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

class AzureVmProvider implements AzureProvider {
  readonly specificationVersion = 'v1' as const;
  readonly name = AZURE_PROVIDER_NAME;
  readonly client: ComputeManagementClient;
  readonly #settings: ResolvedAzureSettings;
  readonly #locations: readonly Location[];
  readonly #recorder = new OperationErrorRecorder();
  readonly #prices: RetailPrices;
  readonly #privateIps = new Map<string, string>();
  #httpClient: HttpClient | undefined;

  constructor(settings: ResolvedAzureSettings) {
    this.#settings = settings;
    this.#locations = settings.locations.flatMap(({ region, zones }) =>
      zones.length === 0
        ? [{ id: locationId(AZURE_PROVIDER_NAME, region), cloud: AZURE_PROVIDER_NAME, region }]
        : zones.map((zone) => ({
            id: locationId(AZURE_PROVIDER_NAME, region, zone),
            cloud: AZURE_PROVIDER_NAME,
            region,
            zone,
          })),
    );
    this.client =
      settings.createClient !== undefined
        ? settings.createClient({
            subscriptionId: settings.subscriptionId,
            endpoint: settings.armEndpoint,
            maxRetries: settings.maxRetries,
          })
        : new ComputeManagementClient(settings.credential!, settings.subscriptionId, {
            endpoint: settings.armEndpoint,
            retryOptions: { maxRetries: settings.maxRetries },
          });
    this.client.pipeline.addPolicy(this.#recorder.policy());
    this.#prices = new RetailPrices({ vmSize: settings.vmSize, ...settings.prices });
  }

  vmName(idempotencyKey: string): string {
    return vmNameForKey(this.#settings.namePrefix, idempotencyKey);
  }

  locations(): readonly Location[] {
    return this.#locations;
  }

  async offerings(context: CallContext = {}): Promise<readonly Offering[]> {
    throwIfAborted(context.abortSignal);
    const offerings: Offering[] = [];
    for (const { region } of this.#settings.locations) {
      const { prices, asOf } = await this.#prices.forRegion(region, context.abortSignal);
      for (const location of this.#locations.filter((candidate) => candidate.region === region)) {
        for (const capacityType of ['spot', 'on-demand'] as const) {
          const hourlyPrice = prices[capacityType];
          if (hourlyPrice === undefined) continue;
          offerings.push({
            location: location.id,
            instanceType: this.#settings.vmSize,
            capacityType,
            hourlyPrice,
            priceAsOf: asOf,
          });
        }
      }
    }
    return offerings;
  }

  async launch(request: LaunchRequest, context: CallContext = {}): Promise<Instance> {
    throwIfAborted(context.abortSignal);
    const location = this.#validateLaunch(request);
    const name = this.vmName(request.idempotencyKey);
    const { resourceGroup } = this.#settings;
    const abortSignal = context.abortSignal;
    const errorContext = {
      operation: 'launch',
      location: location.id,
      capacityType: request.capacityType,
    };

    // A retried launch finds the VM the first attempt created (or is still creating).
    const existing = await this.#getVm(name, errorContext, abortSignal);
    if (existing !== undefined) return this.#adopt(existing, request, abortSignal);

    let operationUrl: string | undefined;
    let vm: VirtualMachine;
    try {
      vm = await this.client.virtualMachines.createOrUpdate(
        resourceGroup,
        name,
        this.#virtualMachineBody(name, location, request),
        {
          abortSignal,
          updateIntervalInMs: this.#settings.pollIntervalMs,
          // Never overwrite a VM that appeared since the GET (a concurrent twin launch).
          ifNoneMatch: '*',
          onResponse: (response) => {
            operationUrl ??= response.headers.get('azure-asyncoperation') ?? undefined;
          },
        },
      );
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 412) {
        const raced = await this.#getVm(name, errorContext, abortSignal);
        if (raced !== undefined) return this.#adopt(raced, request, abortSignal);
      }
      const mapped = this.#mapError(error, {
        ...errorContext,
        operationError: this.#recorder.take(operationUrl),
      });
      // A failed create leaves a VM resource in state Failed (with its NIC and disk):
      // delete it so that a rejected launch leaves nothing billable.
      if (isFailedOperationError(error)) await this.#deleteQuietly(name);
      throw mapped;
    }
    const instance = await this.#describe(vm, errorContext, abortSignal);
    if (instance === undefined) {
      // Deleted (or evicted) between creation and the instance-view read.
      const state = request.capacityType === 'spot' ? 'preempted' : 'terminated';
      return this.#fromModel(vm, { state, reason: 'NotFoundAfterCreate' }, undefined);
    }
    return instance;
  }

  async list(request: ListRequest, context: CallContext = {}): Promise<readonly Instance[]> {
    throwIfAborted(context.abortSignal);
    const errorContext = { operation: 'list' };
    const ours: VirtualMachine[] = [];
    try {
      // The API has no tag filter: read every page of the group and keep ours.
      for await (const vm of this.client.virtualMachines.list(this.#settings.resourceGroup, {
        abortSignal: context.abortSignal,
      })) {
        // Later pages are fetched without the signal (an SDK limitation): check it here.
        throwIfAborted(context.abortSignal);
        if (hasTags(vm.tags ?? {}, request.tags)) ours.push(vm);
      }
    } catch (error) {
      throw this.#mapError(error, errorContext);
    }
    const described = await mapLimit(ours, DESCRIBE_CONCURRENCY, (vm) =>
      this.#describe(vm, errorContext, context.abortSignal),
    );
    return described.filter((instance): instance is Instance => instance !== undefined);
  }

  async terminate(request: TerminateRequest, context: CallContext = {}): Promise<void> {
    throwIfAborted(context.abortSignal);
    if (Object.keys(request.tags ?? {}).length === 0) {
      // Without tags every VM of the group would pass the ownership check.
      throw new InvalidArgumentError(
        `Expected \`tags\` to hold the ownership tags the instance must carry, got ${describeValue(request.tags)}`,
        { argument: 'tags', value: request.tags },
      );
    }
    const name = this.#nameFromInstanceId(request.instanceId);
    const errorContext = { operation: 'terminate' };
    const vm = await this.#getVm(name, errorContext, context.abortSignal);
    if (vm === undefined) return;
    if (!hasTags(vm.tags ?? {}, request.tags)) {
      throw new NotOwnedError(
        `Refusing to terminate Azure VM ${describeValue(request.instanceId)}: it lacks the ownership tags ${describeValue(request.tags)}`,
        { instanceId: request.instanceId },
      );
    }
    try {
      await this.client.virtualMachines.delete(this.#settings.resourceGroup, name, {
        abortSignal: context.abortSignal,
        updateIntervalInMs: this.#settings.pollIntervalMs,
      });
    } catch (error) {
      if (notFound(error)) return;
      throw this.#mapError(error, errorContext);
    }
    this.#forgetPrivateIps(vm);
  }

  async close(): Promise<void> {
    this.#prices.clear();
    this.#privateIps.clear();
  }

  #validateLaunch(request: LaunchRequest): Location {
    const location = this.#locations.find((candidate) => candidate.id === request.location);
    if (location === undefined) {
      throw new InvalidArgumentError(
        `Expected \`location\` to be one of ${this.#locations.map((candidate) => candidate.id).join(', ')}, got ${describeValue(request.location)}`,
        { argument: 'location', value: request.location },
      );
    }
    if (request.capacityType !== 'spot' && request.capacityType !== 'on-demand') {
      throw new InvalidArgumentError(
        `Expected \`capacityType\` to be \`spot\` or \`on-demand\`, got ${describeValue(request.capacityType)}`,
        { argument: 'capacityType', value: request.capacityType },
      );
    }
    if (
      typeof request.idempotencyKey !== 'string' ||
      !IDEMPOTENCY_KEY.test(request.idempotencyKey)
    ) {
      throw new InvalidArgumentError(
        `Expected \`idempotencyKey\` to be 1-64 characters of [a-z0-9-], got ${describeValue(request.idempotencyKey)}`,
        { argument: 'idempotencyKey', value: request.idempotencyKey },
      );
    }
    const tags = { ...this.#settings.tags, ...request.tags };
    if (Object.keys(tags).length > MAX_USER_TAGS + 4) {
      throw new InvalidArgumentError(
        `Expected at most 50 tags in total, got ${Object.keys(tags).length}`,
        {
          argument: 'tags',
          value: request.tags,
        },
      );
    }
    const script = request.startupScript ?? this.#settings.startupScript;
    if (script !== undefined && Buffer.byteLength(script) > MAX_CUSTOM_DATA_BYTES) {
      throw new InvalidArgumentError(
        `Expected \`startupScript\` to be at most ${MAX_CUSTOM_DATA_BYTES} bytes, got ${Buffer.byteLength(script)} bytes`,
        { argument: 'startupScript', value: `${script.slice(0, 40)}…` },
      );
    }
    return location;
  }

  #virtualMachineBody(name: string, location: Location, request: LaunchRequest): VirtualMachine {
    const settings = this.#settings;
    const spot = request.capacityType === 'spot';
    const script = request.startupScript ?? settings.startupScript;
    const image = settings.image;
    return {
      location: location.region,
      ...(location.zone === undefined ? {} : { zones: [location.zone] }),
      tags: {
        ...settings.tags,
        ...request.tags,
        [OwnershipTag.CapacityType]: request.capacityType,
      },
      hardwareProfile: { vmSize: settings.vmSize },
      storageProfile: {
        imageReference:
          'id' in image
            ? { id: image.id }
            : {
                publisher: image.publisher,
                offer: image.offer,
                sku: image.sku,
                version: image.version ?? 'latest',
              },
        osDisk: {
          createOption: 'FromImage',
          deleteOption: 'Delete',
          managedDisk: { storageAccountType: settings.osDiskType },
          ...(settings.osDiskSizeGb === undefined ? {} : { diskSizeGB: settings.osDiskSizeGb }),
        },
      },
      osProfile: {
        computerName: name,
        adminUsername: settings.adminUsername,
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: {
            publicKeys: [
              {
                path: `/home/${settings.adminUsername}/.ssh/authorized_keys`,
                keyData: settings.sshPublicKey,
              },
            ],
          },
        },
        ...(script === undefined ? {} : { customData: Buffer.from(script).toString('base64') }),
      },
      networkProfile: {
        networkApiVersion: NETWORK_API_VERSION,
        networkInterfaceConfigurations: [
          {
            name: `${name}-nic`,
            primary: true,
            deleteOption: 'Delete',
            ipConfigurations: [
              {
                name: 'ipconfig1',
                primary: true,
                subnet: { id: settings.subnetIdFor(location.region) },
              },
            ],
          },
        ],
      },
      priority: spot ? 'Spot' : 'Regular',
      ...(spot
        ? {
            evictionPolicy: settings.evictionPolicy,
            billingProfile: { maxPrice: settings.spotMaxPrice },
          }
        : {}),
    };
  }

  async #adopt(
    vm: VirtualMachine,
    request: LaunchRequest,
    abortSignal: AbortSignal | undefined,
  ): Promise<Instance> {
    if (!hasTags(vm.tags ?? {}, request.tags)) {
      throw new NotOwnedError(
        `Azure VM ${describeValue(vm.name)} (for idempotency key ${describeValue(request.idempotencyKey)}) exists without our ownership tags`,
        { instanceId: vm.id ?? vm.name ?? '' },
      );
    }
    const instance = await this.#describe(vm, { operation: 'launch' }, abortSignal);
    return instance ?? this.#fromModel(vm, { state: 'terminated', reason: 'NotFound' }, undefined);
  }

  async #getVm(
    name: string,
    errorContext: { operation: string },
    abortSignal: AbortSignal | undefined,
  ): Promise<VirtualMachine | undefined> {
    try {
      return await this.client.virtualMachines.get(this.#settings.resourceGroup, name, {
        abortSignal,
      });
    } catch (error) {
      if (notFound(error)) return undefined;
      throw this.#mapError(error, errorContext);
    }
  }

  /** Reads the instance view and maps the VM; undefined when the VM is gone. */
  async #describe(
    vm: VirtualMachine,
    errorContext: { operation: string },
    abortSignal: AbortSignal | undefined,
  ): Promise<Instance | undefined> {
    let statuses = vm.instanceView?.statuses;
    if (statuses === undefined) {
      try {
        const view = await this.client.virtualMachines.instanceView(
          this.#settings.resourceGroup,
          vm.name ?? '',
          {
            abortSignal,
          },
        );
        statuses = view.statuses ?? [];
      } catch (error) {
        if (notFound(error)) return undefined;
        throw this.#mapError(error, errorContext);
      }
    }
    const capacityType = this.#capacityTypeOf(vm);
    const state = mapVmState({
      provisioningState: vm.provisioningState,
      statusCodes: statuses.map((status) => status.code ?? ''),
      capacityType,
    });
    const provisionedAt = statuses.find((status) =>
      status.code?.startsWith('ProvisioningState/'),
    )?.time;
    const endpoint =
      state.state === 'running' ? await this.#endpointOf(vm, errorContext, abortSignal) : undefined;
    return this.#fromModel(vm, state, endpoint, provisionedAt);
  }

  #fromModel(
    vm: VirtualMachine,
    state: { state: Instance['state']; reason: string | undefined },
    endpoint: string | undefined,
    provisionedAt?: Date,
  ): Instance {
    const region = vm.location ?? '';
    return {
      id: vm.id ?? this.#resourceId(vm.name ?? ''),
      location: locationId(AZURE_PROVIDER_NAME, region, vm.zones?.[0]),
      instanceType: vm.hardwareProfile?.vmSize ?? this.#settings.vmSize,
      capacityType: this.#capacityTypeOf(vm),
      state: state.state,
      stateReason: state.reason,
      tags: { ...vm.tags },
      launchedAt: (vm.timeCreated ?? provisionedAt)?.getTime() ?? Date.now(),
      endpoint,
    };
  }

  #capacityTypeOf(vm: VirtualMachine): CapacityType {
    const priority = vm.priority?.toLowerCase();
    if (priority === 'spot' || priority === 'low') return 'spot';
    if (priority === 'regular') return 'on-demand';
    return vm.tags?.[OwnershipTag.CapacityType] === 'spot' ? 'spot' : 'on-demand';
  }

  #resourceId(name: string): string {
    const { subscriptionId, resourceGroup } = this.#settings;
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`;
  }

  /** Accepts a full VM resource id (in our group) or a bare VM name. */
  #nameFromInstanceId(instanceId: string): string {
    if (typeof instanceId === 'string' && instanceId.startsWith('/')) {
      const match =
        /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i.exec(
          instanceId,
        );
      if (match === null) {
        throw new InvalidArgumentError(
          `Expected \`instanceId\` to be an Azure VM resource id, got ${describeValue(instanceId)}`,
          { argument: 'instanceId', value: instanceId },
        );
      }
      const [, subscriptionId, resourceGroup, name] = match as unknown as [
        string,
        string,
        string,
        string,
      ];
      if (
        subscriptionId.toLowerCase() !== this.#settings.subscriptionId.toLowerCase() ||
        resourceGroup.toLowerCase() !== this.#settings.resourceGroup.toLowerCase()
      ) {
        throw new NotOwnedError(
          `Refusing to terminate Azure VM ${describeValue(instanceId)}: it is outside resource group ${describeValue(this.#settings.resourceGroup)}`,
          { instanceId },
        );
      }
      return name;
    }
    if (typeof instanceId !== 'string' || !VM_NAME.test(instanceId)) {
      throw new InvalidArgumentError(
        `Expected \`instanceId\` to be an Azure VM resource id or name, got ${describeValue(instanceId)}`,
        { argument: 'instanceId', value: instanceId },
      );
    }
    return instanceId;
  }

  #mapError(error: unknown, context: AzureErrorContext): SpotHedgeError {
    return mapAzureError(error, {
      ...context,
      responseError: this.#recorder.responseErrorOf(error),
    });
  }

  async #deleteQuietly(name: string): Promise<void> {
    try {
      // Start the delete; do not wait for it (the launch already failed).
      await this.client.virtualMachines
        .delete(this.#settings.resourceGroup, name, {
          updateIntervalInMs: this.#settings.pollIntervalMs,
        })
        .submitted();
    } catch {
      // Best effort: `list` still shows the failed VM (state `terminated`), and the
      // SDK terminates what it does not want.
    }
  }

  #forgetPrivateIps(vm: VirtualMachine): void {
    for (const nic of vm.networkProfile?.networkInterfaces ?? []) {
      if (nic.id !== undefined) this.#privateIps.delete(nic.id.toLowerCase());
    }
  }

  /**
   * `http://<private IP>:<port>` from the primary NIC (its address read once, then cached);
   * the port is `replicaPort` or else the VM's port tag.
   */
  async #endpointOf(
    vm: VirtualMachine,
    errorContext: { operation: string },
    abortSignal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const tags = vm.tags ?? {};
    const port = this.#settings.replicaPort ?? replicaPortOf(tags);
    if (port === undefined) return undefined;
    const interfaces = vm.networkProfile?.networkInterfaces ?? [];
    const nicId = (interfaces.find((nic) => nic.primary) ?? interfaces[0])?.id;
    if (nicId === undefined) return undefined;
    const key = nicId.toLowerCase();
    let ip = this.#privateIps.get(key);
    if (ip === undefined) {
      ip = await this.#readPrivateIp(nicId, errorContext, abortSignal);
      if (ip === undefined) return undefined;
      this.#privateIps.set(key, ip);
      // Evicted VMs vanish without a terminate: bound the cache instead of leaking.
      if (this.#privateIps.size > MAX_CACHED_ADDRESSES) {
        const oldest = this.#privateIps.keys().next().value;
        if (oldest !== undefined) this.#privateIps.delete(oldest);
      }
    }
    return replicaEndpoint({ address: ip, tags, port });
  }

  async #readPrivateIp(
    nicId: string,
    errorContext: { operation: string },
    abortSignal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    // The NIC lives in Microsoft.Network; one GET through the same authenticated
    // pipeline avoids depending on @azure/arm-network for a single field.
    const url = `${this.#settings.armEndpoint}${nicId}?api-version=${NETWORK_INTERFACE_API_VERSION}`;
    const request = createPipelineRequest({
      url,
      method: 'GET',
      abortSignal,
      allowInsecureConnection: url.startsWith('http:'),
    });
    request.headers.set('accept', 'application/json');
    this.#httpClient ??= createDefaultHttpClient();
    let response;
    try {
      response = await this.client.pipeline.sendRequest(this.#httpClient, request);
    } catch (error) {
      if (abortSignal?.aborted)
        throw new AbortedError('Azure request was aborted', { cause: error });
      throw this.#mapError(error, errorContext);
    }
    if (response.status === 404) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(response.bodyAsText ?? '{}');
    } catch {
      body = {};
    }
    if (response.status >= 400) {
      throw this.#mapError(
        {
          name: 'RestError',
          message: `HTTP ${response.status}`,
          statusCode: response.status,
          details: body,
          response,
        },
        errorContext,
      );
    }
    const configurations =
      (
        body as {
          properties?: {
            ipConfigurations?: { properties?: { primary?: boolean; privateIPAddress?: string } }[];
          };
        }
      ).properties?.ipConfigurations ?? [];
    const primary =
      configurations.find((configuration) => configuration.properties?.primary) ??
      configurations[0];
    return primary?.properties?.privateIPAddress;
  }
}
