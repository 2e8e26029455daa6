/**
 * Test-only: a local HTTP server on 127.0.0.1 that speaks enough ARM REST JSON for the
 * Azure provider (virtual machines with `Azure-AsyncOperation` polling, list paging with
 * `nextLink`, instance views, network interfaces) plus the public Retail Prices API, with
 * scripted capacity per zone and over time, Spot evictions, throttling and errors.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** ARM `error` object: `{ code, message, target?, details? }`. */
export interface FakeArmError {
  readonly code: string;
  readonly message: string;
  readonly target?: string;
  readonly details?: readonly FakeArmError[];
}

/** The ARM calls the fake tells apart (for faults and request counts). */
export type FakeArmOperation =
  'create' | 'get' | 'instanceView' | 'list' | 'delete' | 'poll' | 'networkInterface' | 'prices';

/** A scripted failure for the next matching call(s). */
export interface FakeArmFault {
  readonly operation: FakeArmOperation | 'any';
  /**
   * Answer the call with this HTTP status and body at once (a synchronous error), e.g.
   * 409 with `{ error: { code: 'OperationNotAllowed', … } }`.
   */
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Accept the call (`create`/`delete`), then fail its long-running operation with this
   * error (the status body says `Failed`). A failed create leaves the VM `Failed`.
   */
  readonly operationError?: FakeArmError;
  /** How many calls this fault answers. @default 1 */
  readonly times?: number;
  /** Matching calls to let through first (e.g. 1: fail the second list page). @default 0 */
  readonly skip?: number;
}

export interface ArmFakeOptions {
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  /** VMs per list page. @default 2 */
  readonly pageSize?: number;
  /** Polls that answer `InProgress` before a create finishes. @default 1 */
  readonly createPolls?: number;
  /** Polls that answer `InProgress` before a delete finishes. @default 0 */
  readonly deletePolls?: number;
  /** Retail price rows per page. @default 3 */
  readonly pricePageSize?: number;
  /** Clock for capacity schedules. @default Date.now */
  readonly now?: () => number;
}

/** A VM as the fake keeps it. */
export interface FakeVm {
  readonly name: string;
  readonly region: string;
  readonly zone: string | undefined;
  readonly priority: 'Spot' | 'Regular' | 'Low';
  readonly evictionPolicy: string | undefined;
  readonly tags: Record<string, string>;
  /** The `properties` the client sent (customData included). */
  readonly properties: Record<string, unknown>;
  readonly vmId: string;
  readonly createdAt: number;
  readonly nicName: string;
  readonly privateIp: string;
  provisioningState: 'Creating' | 'Succeeded' | 'Failed' | 'Deleting';
  power: 'starting' | 'running' | 'deallocating' | 'deallocated' | 'stopped' | undefined;
}

interface FakeOperation {
  readonly id: string;
  readonly kind: 'create' | 'delete';
  readonly vmName: string;
  pollsLeft: number;
  readonly error: FakeArmError | undefined;
  done: boolean;
}

interface ScheduleEntry {
  readonly at: number;
  readonly capacity: number | undefined;
}

/** Each row the Retail Prices API serves for one region and size. */
export interface FakeRetailPrice {
  readonly spot?: number;
  readonly onDemand?: number;
}

const COMPUTE_API = '2026-03-01';
const RESOURCE = 'Microsoft.Compute/virtualMachines';

function armError(code: string, message: string, target?: string): { error: FakeArmError } {
  return { error: target === undefined ? { code, message } : { code, message, target } };
}

/** Capacity key of a zone (or a zoneless region) and a priority. */
function capacityKey(region: string, zone: string | undefined, spot: boolean): string {
  return `${region}/${zone ?? '-'}/${spot ? 'spot' : 'regular'}`;
}

export class ArmFake {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Every request, in order (method, path with query, operation). */
  readonly requests: {
    method: string;
    url: string;
    operation: FakeArmOperation | 'unknown';
    authorization: string | undefined;
  }[] = [];
  /** Names of Spot VMs the fake evicted, in order. */
  readonly evictions: string[] = [];

  readonly #options: Required<Omit<ArmFakeOptions, 'subscriptionId' | 'resourceGroup'>>;
  readonly #server: Server;
  readonly #vms = new Map<string, FakeVm>();
  readonly #operations = new Map<string, FakeOperation>();
  readonly #faults: (FakeArmFault & { remaining: number; skipped: number })[] = [];
  readonly #capacity = new Map<string, number>();
  readonly #schedules = new Map<string, ScheduleEntry[]>();
  readonly #prices = new Map<string, FakeRetailPrice>();
  #spotQuota: number | undefined;
  #url = '';
  #nextIp = 4;

  private constructor(options: ArmFakeOptions) {
    this.subscriptionId = options.subscriptionId ?? '00000000-0000-4000-8000-000000000001';
    this.resourceGroup = options.resourceGroup ?? 'spothedge-test';
    this.#options = {
      pageSize: options.pageSize ?? 2,
      createPolls: options.createPolls ?? 1,
      deletePolls: options.deletePolls ?? 0,
      pricePageSize: options.pricePageSize ?? 3,
      now: options.now ?? Date.now,
    };
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#json(response, 500, armError('InternalServerError', String(error)));
      });
    });
  }

  /** Starts a fake on an ephemeral 127.0.0.1 port. */
  static async start(options: ArmFakeOptions = {}): Promise<ArmFake> {
    const fake = new ArmFake(options);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(0, '127.0.0.1', () => resolve());
    });
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Base URL (ARM endpoint and Retail Prices host). */
  get url(): string {
    return this.#url;
  }

  /** Retail Prices API URL served by this fake. */
  get pricesUrl(): string {
    return `${this.#url}/api/retail/prices`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** VMs currently known (any state). */
  get vms(): readonly FakeVm[] {
    return [...this.#vms.values()];
  }

  vm(name: string): FakeVm | undefined {
    return this.#vms.get(name.toLowerCase());
  }

  /** How many requests of this kind were made. */
  count(operation: FakeArmOperation): number {
    return this.requests.filter((request) => request.operation === operation).length;
  }

  /** Scripts a failure for the next matching call(s). */
  failNext(fault: FakeArmFault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? 1, skipped: 0 });
  }

  /** Answers the next `times` calls of `operation` with 429 and `Retry-After`. */
  throttleNext(operation: FakeArmOperation | 'any', retryAfterSeconds: number, times = 1): void {
    this.failNext({
      operation,
      status: 429,
      headers: { 'retry-after': String(retryAfterSeconds) },
      body: armError('TooManyRequests', 'The request is being throttled.'),
      times,
    });
  }

  /**
   * Caps how many VMs of one priority may run in a zone (or zoneless region); `undefined`
   * removes the cap. Spot VMs above a lowered cap are evicted at once, newest first.
   */
  setCapacity(
    region: string,
    zone: string | undefined,
    capacityType: 'spot' | 'on-demand',
    capacity: number | undefined,
  ): void {
    const key = capacityKey(region, zone, capacityType === 'spot');
    if (capacity === undefined) this.#capacity.delete(key);
    else this.#capacity.set(key, capacity);
    if (capacityType === 'spot') this.#enforceSpotCapacity(region, zone);
  }

  /** Capacity over time: at each `at` (per the fake's clock) the cap becomes `capacity`. */
  scheduleCapacity(
    region: string,
    zone: string | undefined,
    capacityType: 'spot' | 'on-demand',
    schedule: readonly { at: number; capacity: number | undefined }[],
  ): void {
    const key = capacityKey(region, zone, capacityType === 'spot');
    this.#schedules.set(
      key,
      [...schedule].sort((left, right) => left.at - right.at),
    );
    this.#applySchedules();
  }

  /**
   * Limits how many Spot VMs may exist at once across the subscription (the
   * `LowPriorityCores` quota, counted in VMs here); `undefined` removes the limit. A create
   * beyond it is refused at once with 409 `OperationNotAllowed` and Azure's quota text.
   */
  setSpotQuota(maxSpotVms: number | undefined): void {
    this.#spotQuota = maxSpotVms;
  }

  /** Evicts a Spot VM as Azure would (deleted, or deallocated under policy `Deallocate`). */
  evict(nameOrId: string): void {
    const vm = this.vm(nameOrId.split('/').pop() ?? nameOrId);
    if (vm === undefined) throw new Error(`ArmFake: no VM ${nameOrId}`);
    if (vm.priority === 'Regular') throw new Error(`ArmFake: VM ${vm.name} is not a Spot VM`);
    this.evictions.push(vm.name);
    if (vm.evictionPolicy === 'Deallocate') {
      vm.power = 'deallocated';
      vm.provisioningState = 'Succeeded';
    } else {
      this.#vms.delete(vm.name.toLowerCase());
    }
  }

  /** Adds a running VM without SpotHedge tags; returns its resource id. */
  createForeignVm(
    region: string,
    zone: string | undefined,
    tags: Record<string, string> = { owner: 'someone-else' },
  ): string {
    const name = `foreign-${randomUUID().slice(0, 8)}`;
    const vm = this.#newVm(name, region, zone, 'Regular', undefined, tags, {
      hardwareProfile: { vmSize: 'Standard_D2s_v5' },
    });
    vm.provisioningState = 'Succeeded';
    vm.power = 'running';
    return this.#id(name);
  }

  /** Sets what the Retail Prices API answers for one region and size. */
  setRetailPrice(region: string, vmSize: string, prices: FakeRetailPrice): void {
    this.#prices.set(`${region}/${vmSize}`.toLowerCase(), prices);
  }

  #id(name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/${RESOURCE}/${name}`;
  }

  #newVm(
    name: string,
    region: string,
    zone: string | undefined,
    priority: FakeVm['priority'],
    evictionPolicy: string | undefined,
    tags: Record<string, string>,
    properties: Record<string, unknown>,
  ): FakeVm {
    const vm: FakeVm = {
      name,
      region,
      zone,
      priority,
      evictionPolicy,
      tags,
      properties,
      vmId: randomUUID(),
      createdAt: Date.now(),
      nicName: `${name}-nic`,
      privateIp: `10.0.${Math.floor(this.#nextIp / 250)}.${(this.#nextIp % 250) + 4}`,
      provisioningState: 'Creating',
      power: undefined,
    };
    this.#nextIp += 1;
    this.#vms.set(name.toLowerCase(), vm);
    return vm;
  }

  #holdsCapacity(vm: FakeVm): boolean {
    return (
      vm.provisioningState !== 'Failed' &&
      vm.provisioningState !== 'Deleting' &&
      vm.power !== 'deallocated' &&
      vm.power !== 'stopped'
    );
  }

  #running(region: string, zone: string | undefined, spot: boolean): FakeVm[] {
    return this.vms.filter(
      (vm) =>
        vm.region === region &&
        vm.zone === zone &&
        (vm.priority !== 'Regular') === spot &&
        this.#holdsCapacity(vm),
    );
  }

  #enforceSpotCapacity(region: string, zone: string | undefined): void {
    const cap = this.#capacity.get(capacityKey(region, zone, true));
    if (cap === undefined) return;
    const running = this.#running(region, zone, true).sort(
      (left, right) => right.createdAt - left.createdAt,
    );
    for (const vm of running.slice(0, Math.max(0, running.length - cap))) this.evict(vm.name);
  }

  #applySchedules(): void {
    const now = this.#options.now();
    for (const [key, schedule] of this.#schedules) {
      const current = [...schedule].reverse().find((entry) => entry.at <= now);
      if (current === undefined) continue;
      const [region = '', zone = '-', kind] = key.split('/');
      if (current.capacity === undefined) this.#capacity.delete(key);
      else this.#capacity.set(key, current.capacity);
      if (kind === 'spot') this.#enforceSpotCapacity(region, zone === '-' ? undefined : zone);
    }
  }

  #vmJson(vm: FakeVm, withInstanceView = false): Record<string, unknown> {
    const { osProfile, ...properties } = vm.properties as { osProfile?: Record<string, unknown> };
    const { customData: _customData, ...publicOsProfile } = osProfile ?? {};
    const networkProfile =
      (properties as { networkProfile?: Record<string, unknown> }).networkProfile ?? {};
    return {
      id: this.#id(vm.name),
      name: vm.name,
      type: RESOURCE,
      location: vm.region,
      ...(vm.zone === undefined ? {} : { zones: [vm.zone] }),
      tags: vm.tags,
      properties: {
        ...properties,
        osProfile: publicOsProfile,
        networkProfile: {
          ...networkProfile,
          networkInterfaces: [
            {
              id: `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/Microsoft.Network/networkInterfaces/${vm.nicName}`,
              properties: { primary: true, deleteOption: 'Delete' },
            },
          ],
        },
        vmId: vm.vmId,
        provisioningState: vm.provisioningState,
        timeCreated: new Date(vm.createdAt).toISOString(),
        ...(withInstanceView ? { instanceView: this.#instanceView(vm) } : {}),
      },
    };
  }

  #instanceView(vm: FakeVm): Record<string, unknown> {
    const time = new Date(vm.createdAt).toISOString();
    const provisioning = vm.provisioningState.toLowerCase();
    const statuses: Record<string, unknown>[] = [
      {
        code: `ProvisioningState/${provisioning}`,
        level: vm.provisioningState === 'Failed' ? 'Error' : 'Info',
        displayStatus: `Provisioning ${provisioning}`,
        time,
      },
    ];
    if (vm.power !== undefined) {
      statuses.push({
        code: `PowerState/${vm.power}`,
        level: 'Info',
        displayStatus: `VM ${vm.power}`,
      });
    }
    return { computerName: vm.name, osName: 'ubuntu', statuses };
  }

  #json(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (response.headersSent) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    response.writeHead(status, {
      ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    response.end(text);
  }

  #takeFault(operation: FakeArmOperation): FakeArmFault | undefined {
    const index = this.#faults.findIndex(
      (fault) => fault.operation === operation || fault.operation === 'any',
    );
    if (index === -1) return undefined;
    const fault = this.#faults[index]!;
    if (fault.skipped < (fault.skip ?? 0)) {
      fault.skipped += 1;
      return undefined;
    }
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault;
  }

  async #readBody(request: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.#url);
    const path = url.pathname;
    const method = request.method ?? 'GET';
    const vmPath =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines(?:\/([^/]+))?(\/instanceView)?$/i.exec(
        path,
      );
    const operationPath =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/operations\/([^/]+)$/i.exec(
        path,
      );
    const nicPath =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/networkInterfaces\/([^/]+)$/i.exec(
        path,
      );

    let operation: FakeArmOperation | 'unknown' = 'unknown';
    if (path === '/api/retail/prices') operation = 'prices';
    else if (operationPath !== null) operation = 'poll';
    else if (nicPath !== null) operation = 'networkInterface';
    else if (vmPath !== null) {
      if (vmPath[4] !== undefined) operation = 'instanceView';
      else if (vmPath[3] === undefined) operation = 'list';
      else if (method === 'PUT') operation = 'create';
      else if (method === 'DELETE') operation = 'delete';
      else operation = 'get';
    }
    const authorization = request.headers.authorization;
    this.requests.push({ method, url: `${path}${url.search}`, operation, authorization });
    const body = await this.#readBody(request);
    this.#applySchedules();

    if (operation === 'prices') {
      const fault = this.#takeFault('prices');
      if (fault?.status !== undefined)
        return this.#json(response, fault.status, fault.body, { ...fault.headers });
      return this.#servePrices(url, response);
    }
    if (operation === 'unknown') {
      return this.#json(
        response,
        404,
        armError('InvalidResourceType', `No route for ${method} ${path}`),
      );
    }
    if (authorization === undefined || !authorization.startsWith('Bearer ')) {
      return this.#json(
        response,
        401,
        armError(
          'AuthenticationFailed',
          'Authentication failed. The Authorization header is missing.',
        ),
        {
          'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common"',
        },
      );
    }
    const subscription = (vmPath ?? operationPath ?? nicPath)![1]!;
    if (subscription !== this.subscriptionId) {
      return this.#json(
        response,
        404,
        armError('SubscriptionNotFound', `The subscription '${subscription}' could not be found.`),
      );
    }
    const fault = this.#takeFault(operation);
    if (fault?.status !== undefined) {
      return this.#json(response, fault.status, fault.body, { ...fault.headers });
    }

    if (operationPath !== null)
      return this.#servePoll(operationPath[2]!, operationPath[3]!, response);
    const resourceGroup = (vmPath ?? nicPath)![2]!;
    if (resourceGroup.toLowerCase() !== this.resourceGroup.toLowerCase()) {
      return this.#json(
        response,
        404,
        armError('ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`),
      );
    }
    if (nicPath !== null) return this.#serveNic(nicPath[3]!, response);
    const name = vmPath![3];
    if (name === undefined) return this.#serveList(url, response);
    const vm = this.vm(name);
    switch (operation) {
      case 'instanceView':
        if (vm === undefined) return this.#notFound(name, response);
        return this.#json(response, 200, this.#instanceView(vm));
      case 'get':
        if (vm === undefined) return this.#notFound(name, response);
        return this.#json(
          response,
          200,
          this.#vmJson(vm, url.searchParams.get('$expand') === 'instanceView'),
        );
      case 'delete':
        return this.#serveDelete(vm, fault?.operationError, response);
      case 'create':
        return this.#serveCreate(name, vm, body, request, fault?.operationError, response);
      default:
        return this.#json(response, 405, armError('MethodNotAllowed', method));
    }
  }

  #notFound(name: string, response: ServerResponse): void {
    this.#json(
      response,
      404,
      armError(
        'ResourceNotFound',
        `The Resource '${RESOURCE}/${name}' under resource group '${this.resourceGroup}' was not found.`,
      ),
    );
  }

  #operationUrl(region: string, id: string): string {
    return `${this.#url}/subscriptions/${this.subscriptionId}/providers/Microsoft.Compute/locations/${region}/operations/${id}?p=x&api-version=${COMPUTE_API}`;
  }

  #serveCreate(
    name: string,
    existing: FakeVm | undefined,
    body: unknown,
    request: IncomingMessage,
    operationError: FakeArmError | undefined,
    response: ServerResponse,
  ): void {
    if (existing !== undefined && request.headers['if-none-match'] === '*') {
      return this.#json(
        response,
        412,
        armError('PreconditionFailed', `The VM '${name}' already exists.`),
      );
    }
    if (existing !== undefined) {
      return this.#json(response, 200, this.#vmJson(existing));
    }
    const vmBody = (body ?? {}) as {
      location?: string;
      zones?: string[];
      tags?: Record<string, string>;
      properties?: Record<string, unknown>;
    };
    const properties = vmBody.properties ?? {};
    const problem = this.#validateCreate(vmBody.location, properties);
    if (problem !== undefined) return this.#json(response, 400, { error: problem });
    const priority = (properties['priority'] as FakeVm['priority'] | undefined) ?? 'Regular';
    const region = vmBody.location!;
    const spotVms = this.vms.filter((vm) => vm.priority !== 'Regular' && this.#holdsCapacity(vm));
    if (
      priority !== 'Regular' &&
      this.#spotQuota !== undefined &&
      spotVms.length >= this.#spotQuota
    ) {
      return this.#json(
        response,
        409,
        armError(
          'OperationNotAllowed',
          `Operation could not be completed as it results in exceeding approved LowPriorityCores quota. Additional details - Deployment Model: Resource Manager, Location: ${region}, Current Limit: ${this.#spotQuota}, Current Usage: ${spotVms.length}, Additional Required: 1.`,
        ),
      );
    }
    const zone = vmBody.zones?.[0];
    const spot = priority !== 'Regular';
    const vm = this.#newVm(
      name,
      region,
      zone,
      priority,
      properties['evictionPolicy'] as string | undefined,
      vmBody.tags ?? {},
      properties,
    );

    let error = operationError;
    const cap = this.#capacity.get(capacityKey(region, zone, spot));
    if (
      error === undefined &&
      cap !== undefined &&
      this.#running(region, zone, spot).length > cap
    ) {
      error =
        zone === undefined
          ? {
              code: 'AllocationFailed',
              message:
                'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.',
            }
          : {
              code: 'ZonalAllocationFailed',
              message: `Allocation failed. We do not have sufficient capacity for the requested VM size in zone '${zone}'.`,
            };
    }
    const id = randomUUID();
    this.#operations.set(id, {
      id,
      kind: 'create',
      vmName: vm.name,
      pollsLeft: this.#options.createPolls,
      error,
      done: false,
    });
    this.#json(response, 201, this.#vmJson(vm), {
      'azure-asyncoperation': this.#operationUrl(region, id),
    });
  }

  #validateCreate(
    location: string | undefined,
    properties: Record<string, unknown>,
  ): FakeArmError | undefined {
    const hardware = properties['hardwareProfile'] as { vmSize?: string } | undefined;
    const network = properties['networkProfile'] as
      | {
          networkApiVersion?: string;
          networkInterfaceConfigurations?: {
            properties?: { ipConfigurations?: { properties?: { subnet?: { id?: string } } }[] };
          }[];
        }
      | undefined;
    const storage = properties['storageProfile'] as
      { imageReference?: Record<string, unknown> } | undefined;
    const priority = properties['priority'];
    const billing = properties['billingProfile'] as { maxPrice?: number } | undefined;
    if (typeof location !== 'string' || location === '') {
      return {
        code: 'LocationRequired',
        message: 'The location property is required for this definition.',
      };
    }
    if (hardware?.vmSize === undefined) {
      return {
        code: 'InvalidParameter',
        message: 'The value of parameter vmSize is invalid.',
        target: 'vmSize',
      };
    }
    if (storage?.imageReference === undefined) {
      return {
        code: 'InvalidParameter',
        message: 'Required parameter imageReference is missing.',
        target: 'imageReference',
      };
    }
    if (
      network?.networkApiVersion === undefined ||
      !Array.isArray(network.networkInterfaceConfigurations)
    ) {
      return {
        code: 'InvalidParameter',
        message: 'networkInterfaceConfigurations require networkApiVersion.',
        target: 'networkProfile',
      };
    }
    const subnet =
      network.networkInterfaceConfigurations[0]?.properties?.ipConfigurations?.[0]?.properties
        ?.subnet?.id;
    if (subnet === undefined) {
      return { code: 'InvalidParameter', message: 'A subnet is required.', target: 'subnet' };
    }
    if (priority === 'Spot' && billing?.maxPrice === undefined) {
      return {
        code: 'InvalidParameter',
        message: 'Spot VMs need billingProfile.maxPrice.',
        target: 'billingProfile',
      };
    }
    if (priority === 'Regular' && properties['evictionPolicy'] !== undefined) {
      return {
        code: 'InvalidParameter',
        message: 'evictionPolicy can be set only for Spot VMs.',
        target: 'evictionPolicy',
      };
    }
    return undefined;
  }

  #serveDelete(
    vm: FakeVm | undefined,
    operationError: FakeArmError | undefined,
    response: ServerResponse,
  ): void {
    if (vm === undefined) return this.#json(response, 204, undefined);
    vm.provisioningState = 'Deleting';
    const id = randomUUID();
    const operation: FakeOperation = {
      id,
      kind: 'delete',
      vmName: vm.name,
      pollsLeft: this.#options.deletePolls,
      error: operationError,
      done: false,
    };
    this.#operations.set(id, operation);
    if (operation.pollsLeft === 0 && operationError === undefined) this.#finish(operation);
    const operationUrl = this.#operationUrl(vm.region, id);
    this.#json(response, 202, undefined, {
      'azure-asyncoperation': operationUrl,
      location: operationUrl,
    });
  }

  #finish(operation: FakeOperation): void {
    if (operation.done) return;
    operation.done = true;
    const vm = this.vm(operation.vmName);
    if (vm === undefined) return;
    if (operation.kind === 'create') {
      if (operation.error !== undefined) {
        vm.provisioningState = 'Failed';
        vm.power = undefined;
      } else {
        vm.provisioningState = 'Succeeded';
        vm.power = 'running';
      }
    } else if (operation.error !== undefined) {
      vm.provisioningState = 'Failed';
    } else {
      this.#vms.delete(vm.name.toLowerCase());
    }
  }

  #servePoll(region: string, id: string, response: ServerResponse): void {
    const operation = this.#operations.get(id);
    if (operation === undefined) {
      return this.#json(
        response,
        404,
        armError('OperationNotFound', `Operation ${id} in ${region} was not found.`),
      );
    }
    if (operation.pollsLeft > 0 && !operation.done) {
      operation.pollsLeft -= 1;
      const vm = this.vm(operation.vmName);
      if (vm !== undefined && operation.kind === 'create') vm.power = 'starting';
      return this.#json(response, 200, {
        name: id,
        status: 'InProgress',
        startTime: new Date().toISOString(),
      });
    }
    this.#finish(operation);
    const status = operation.error === undefined ? 'Succeeded' : 'Failed';
    return this.#json(response, 200, {
      name: id,
      status,
      startTime: new Date().toISOString(),
      endTime: new Date().toISOString(),
      ...(operation.error === undefined ? {} : { error: operation.error }),
    });
  }

  #serveList(url: URL, response: ServerResponse): void {
    const all = [...this.vms].sort((left, right) => left.name.localeCompare(right.name));
    const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
    const page = all.slice(skip, skip + this.#options.pageSize);
    const next = skip + this.#options.pageSize;
    const listPath = `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/${RESOURCE}`;
    this.#json(response, 200, {
      value: page.map((vm) => this.#vmJson(vm)),
      ...(next < all.length
        ? { nextLink: `${this.#url}${listPath}?api-version=${COMPUTE_API}&$skiptoken=${next}` }
        : {}),
    });
  }

  #serveNic(name: string, response: ServerResponse): void {
    const vm = this.vms.find((candidate) => candidate.nicName.toLowerCase() === name.toLowerCase());
    if (vm === undefined) {
      return this.#json(
        response,
        404,
        armError('NotFound', `Network interface ${name} was not found.`),
      );
    }
    this.#json(response, 200, {
      name,
      id: `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/Microsoft.Network/networkInterfaces/${name}`,
      location: vm.region,
      properties: {
        provisioningState: 'Succeeded',
        ipConfigurations: [
          {
            name: 'ipconfig1',
            properties: {
              primary: true,
              privateIPAddress: vm.privateIp,
              privateIPAllocationMethod: 'Dynamic',
            },
          },
        ],
      },
    });
  }

  #servePrices(url: URL, response: ServerResponse): void {
    const filter = url.searchParams.get('$filter') ?? '';
    const region = /armRegionName eq '([^']+)'/.exec(filter)?.[1] ?? '';
    const size = /armSkuName eq '([^']+)'/.exec(filter)?.[1] ?? '';
    const prices = this.#prices.get(`${region}/${size}`.toLowerCase());
    const items: Record<string, unknown>[] = [];
    if (prices !== undefined) {
      const meter = size.replace(/^Standard_/, '').replace(/_/g, ' ');
      const row = (fields: Record<string, unknown>): Record<string, unknown> => ({
        currencyCode: 'USD',
        tierMinimumUnits: 0,
        armRegionName: region,
        location: region,
        effectiveStartDate: '2025-01-01T00:00:00Z',
        meterId: randomUUID(),
        productId: 'DZH318Z0BQ4L',
        skuId: 'DZH318Z0BQ4L/00TG',
        productName: 'Virtual Machines Series',
        serviceName: 'Virtual Machines',
        serviceId: 'DZH313Z7MMC8',
        serviceFamily: 'Compute',
        unitOfMeasure: '1 Hour',
        type: 'Consumption',
        isPrimaryMeterRegion: true,
        armSkuName: size,
        ...fields,
      });
      if (prices.onDemand !== undefined) {
        items.push(
          row({
            retailPrice: prices.onDemand * 1.8,
            unitPrice: prices.onDemand * 1.8,
            meterName: meter,
            skuName: meter,
            productName: 'Virtual Machines Series Windows',
          }),
        );
        items.push(
          row({
            retailPrice: prices.onDemand * 0.6,
            unitPrice: prices.onDemand * 0.6,
            meterName: meter,
            skuName: meter,
            type: 'Reservation',
            reservationTerm: '1 Year',
          }),
        );
        items.push(
          row({
            retailPrice: prices.onDemand,
            unitPrice: prices.onDemand,
            meterName: meter,
            skuName: meter,
          }),
        );
      }
      items.push(
        row({
          retailPrice: 0.001,
          unitPrice: 0.001,
          meterName: `${meter} Low Priority`,
          skuName: `${meter} Low Priority`,
        }),
      );
      if (prices.spot !== undefined) {
        items.push(
          row({
            retailPrice: prices.spot * 1.5,
            unitPrice: prices.spot * 1.5,
            meterName: `${meter} Spot`,
            skuName: `${meter} Spot`,
            productName: 'Virtual Machines Series Windows',
          }),
        );
        items.push(
          row({
            retailPrice: prices.spot,
            unitPrice: prices.spot,
            meterName: `${meter} Spot`,
            skuName: `${meter} Spot`,
          }),
        );
      }
    }
    const skip = Number(url.searchParams.get('$skip') ?? '0');
    const size_ = this.#options.pricePageSize;
    const next = new URL(url.toString());
    next.searchParams.set('$skip', String(skip + size_));
    this.#json(response, 200, {
      BillingCurrency: 'USD',
      CustomerEntityId: 'Default',
      CustomerEntityType: 'Retail',
      Items: items.slice(skip, skip + size_),
      NextPageLink: skip + size_ < items.length ? next.toString() : null,
      Count: Math.min(size_, Math.max(0, items.length - skip)),
    });
  }
}
