/**
 * A test-only Compute Engine on 127.0.0.1: speaks the REST JSON wire format of the calls
 * the provider makes (instances insert/get/list/delete, zone operations get/wait/list)
 * and the Cloud Billing Catalog SKU listing, with scripted capacity, preemptions, quota,
 * rate limits, auth failures and `requestId` idempotency.
 *
 * Hand-written because no library emulates Compute Engine; it models only what the
 * provider reads, and answers with the shapes the real API uses.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COMPUTE_ENGINE_SERVICE_ID, type BillingSku } from '../billing-catalog.js';

/** The API calls the fake serves, for scripting faults and counting calls. */
export type GceFakeMethod =
  | 'instances.insert'
  | 'instances.get'
  | 'instances.list'
  | 'instances.delete'
  | 'operations.get'
  | 'operations.wait'
  | 'operations.list'
  | 'catalog.skus';

/** A scripted failure: an HTTP error answer, or (for insert/delete) a failed operation. */
export type GceFakeFault =
  | {
      readonly kind: 'http';
      readonly status: number;
      readonly message?: string;
      /** Legacy `errors[].reason`, e.g. `rateLimitExceeded`. */
      readonly reason?: string;
      /** Canonical status, e.g. `RESOURCE_EXHAUSTED`. */
      readonly statusName?: string;
      /** A google.rpc.ErrorInfo reason put in `details`. */
      readonly errorInfoReason?: string;
    }
  | {
      readonly kind: 'operation';
      readonly errors: readonly { readonly code: string; readonly message: string }[];
    };

type CapacityType = 'spot' | 'on-demand';

interface FakeInstance {
  resource: Record<string, unknown> & {
    name: string;
    status: string;
    labels: Record<string, string>;
  };
  readonly zone: string;
  readonly capacityType: CapacityType;
}

interface FakeOperation {
  resource: Record<string, unknown> & { name: string; status: string; operationType: string };
  readonly zone: string;
  /** Runs once when the operation finishes (on wait/get). */
  finish?: (() => void) | undefined;
}

export interface GceFakeOptions {
  readonly project?: string;
  /** Page size the fake uses when the client asks for more. @default 500 */
  readonly maxPageSize?: number;
  /** Catalog SKUs per page. @default 1000 */
  readonly catalogPageSize?: number;
}

const BASE = '/compute/v1/projects/';

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses the `a = "x" AND (b = "y")` filters the provider sends into `[path, value]` pairs. */
export function parseFilter(filter: string): [string, string][] {
  const terms: [string, string][] = [];
  for (const match of filter.matchAll(/([A-Za-z][\w.-]*)\s*=\s*"([^"]*)"/g)) {
    terms.push([match[1]!, match[2]!]);
  }
  return terms;
}

function fieldAt(resource: Record<string, unknown>, path: string): unknown {
  let current: unknown = resource;
  for (const part of path.split('.')) {
    current =
      typeof current === 'object' && current !== null
        ? (current as Record<string, unknown>)[part]
        : undefined;
  }
  return current;
}

/** A fake Compute Engine + Cloud Billing Catalog server. Start with {@link GceFake.start}. */
export class GceFake {
  readonly project: string;
  readonly #server: Server;
  #maxPageSize: number;
  readonly #defaultPageSize: number;
  #catalogPageSize: number;
  readonly #instances = new Map<string, FakeInstance>(); // key: zone/name
  readonly #operations = new Map<string, FakeOperation>(); // key: zone/name
  readonly #requestIds = new Map<string, FakeOperation>();
  readonly #capacity = new Map<string, number>(); // key: zone/capacityType
  readonly #faults = new Map<GceFakeMethod, GceFakeFault[]>();
  readonly #calls = new Map<GceFakeMethod, number>();
  #instanceQuota = Number.POSITIVE_INFINITY;
  #skus: BillingSku[] = [];
  #nextId = 1000;
  #nextIp = 2;
  /** Authorization headers seen, in order. */
  readonly authorizations: string[] = [];
  /** Query strings of `instances.list` calls, in order. */
  readonly listQueries: URLSearchParams[] = [];
  /** Bodies of `instances.insert` calls, in order. */
  readonly insertBodies: Record<string, unknown>[] = [];

  private constructor(server: Server, options: GceFakeOptions) {
    this.#server = server;
    this.project = options.project ?? 'spothedge-test';
    this.#maxPageSize = options.maxPageSize ?? 500;
    this.#defaultPageSize = this.#maxPageSize;
    this.#catalogPageSize = options.catalogPageSize ?? 1000;
  }

  /** Starts the fake on an ephemeral port of 127.0.0.1. */
  static async start(options: GceFakeOptions = {}): Promise<GceFake> {
    const server = createServer();
    const fake = new GceFake(server, options);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      fake.#handle(request, response).catch((error: unknown) => {
        json(response, 500, { error: { code: 500, message: String(error) } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** `http://127.0.0.1:<port>`: the Compute Engine and catalog endpoint. */
  get url(): string {
    const address = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Forgets every instance, operation, fault, capacity and quota (SKUs stay). */
  reset(): void {
    this.#instances.clear();
    this.#operations.clear();
    this.#requestIds.clear();
    this.#capacity.clear();
    this.#faults.clear();
    this.#calls.clear();
    this.#maxPageSize = this.#defaultPageSize;
    this.#instanceQuota = Number.POSITIVE_INFINITY;
    this.authorizations.length = 0;
    this.listQueries.length = 0;
    this.insertBodies.length = 0;
  }

  // ------------------------------------------------------------ scripting

  /**
   * How many instances of `capacityType` may run in `zone` from now on (default
   * unlimited). Lowering spot capacity below the running count preempts the excess.
   */
  setCapacity(zone: string, capacityType: CapacityType, count: number): void {
    this.#capacity.set(`${zone}/${capacityType}`, count);
    if (capacityType !== 'spot') return;
    const running = this.#alive(zone, 'spot');
    for (const instance of running.slice(0, Math.max(0, running.length - count))) {
      this.preempt(`${zone}/${instance.resource.name}`);
    }
  }

  /** Project-wide limit on instances (beyond it, inserts fail with QUOTA_EXCEEDED). */
  setInstanceQuota(count: number): void {
    this.#instanceQuota = count;
  }

  /** The next call of `method` fails with `fault` (queued: one fault per call). */
  failNext(method: GceFakeMethod, fault: GceFakeFault): void {
    const queue = this.#faults.get(method) ?? [];
    queue.push(fault);
    this.#faults.set(method, queue);
  }

  /** SKUs the catalog serves. */
  setSkus(skus: readonly BillingSku[]): void {
    this.#skus = [...skus];
  }

  /** Largest page the fake returns for instance and operation lists. */
  setMaxPageSize(size: number): void {
    this.#maxPageSize = size;
  }

  /** SKUs per catalog page. */
  setCatalogPageSize(size: number): void {
    this.#catalogPageSize = size;
  }

  /** Forgets `requestId`s, as Compute Engine does after a while. */
  forgetRequestIds(): void {
    this.#requestIds.clear();
  }

  /** How many times `method` was called since the last reset. */
  calls(method: GceFakeMethod): number {
    return this.#calls.get(method) ?? 0;
  }

  /**
   * Reclaims a spot instance (`<zone>/<name>`): records a `compute.instances.preempted`
   * operation, then deletes the instance (`instanceTerminationAction: DELETE`) or leaves
   * it `TERMINATED` (`mode: 'terminate'`).
   */
  preempt(instanceId: string, options: { mode?: 'delete' | 'terminate' } = {}): void {
    const instance = this.#instances.get(instanceId);
    if (instance === undefined) throw new Error(`fake: no instance ${instanceId}`);
    if (instance.capacityType !== 'spot') throw new Error(`fake: ${instanceId} is not spot`);
    const operation = this.#newOperation(instance.zone, 'compute.instances.preempted', instance);
    operation.resource.status = 'DONE';
    operation.resource['user'] = 'system';
    if (options.mode === 'terminate') instance.resource.status = 'TERMINATED';
    else this.#instances.delete(instanceId);
  }

  /** Creates an instance without spothedge labels; returns its id `<zone>/<name>`. */
  createForeignInstance(
    zone: string,
    options: { name?: string; labels?: Record<string, string> } = {},
  ): string {
    const name = options.name ?? `foreign-${this.#nextId}`;
    const instance = this.#newInstance(zone, {
      name,
      machineType: `zones/${zone}/machineTypes/e2-small`,
      labels: options.labels ?? { team: 'someone-else' },
      scheduling: { provisioningModel: 'STANDARD' },
    });
    instance.resource.status = 'RUNNING';
    return `${zone}/${name}`;
  }

  /** The raw instance resource, looked up behind the provider's back. */
  instance(instanceId: string): Record<string, unknown> | undefined {
    return this.#instances.get(instanceId)?.resource;
  }

  /** Every instance the fake holds (raw resources), deleted ones excluded. */
  instances(): readonly Record<string, unknown>[] {
    return [...this.#instances.values()].map((instance) => instance.resource);
  }

  /** Sets an instance's status (e.g. `STOPPING`, `TERMINATED`, `SUSPENDED`). */
  setStatus(instanceId: string, status: string): void {
    const instance = this.#instances.get(instanceId);
    if (instance === undefined) throw new Error(`fake: no instance ${instanceId}`);
    instance.resource.status = status;
  }

  // ------------------------------------------------------------ model

  #alive(zone: string, capacityType: CapacityType): FakeInstance[] {
    return [...this.#instances.values()].filter(
      (instance) =>
        instance.zone === zone &&
        instance.capacityType === capacityType &&
        instance.resource.status !== 'TERMINATED',
    );
  }

  #zoneUrl(zone: string): string {
    return `https://www.googleapis.com/compute/v1/projects/${this.project}/zones/${zone}`;
  }

  #newInstance(zone: string, body: Record<string, unknown>): FakeInstance {
    const name = String(body['name']);
    const scheduling = (body['scheduling'] ?? {}) as Record<string, unknown>;
    const capacityType: CapacityType =
      scheduling['provisioningModel'] === 'SPOT' || scheduling['preemptible'] === true
        ? 'spot'
        : 'on-demand';
    const interfaces = (body['networkInterfaces'] ?? [{}]) as Record<string, unknown>[];
    const ip = this.#nextIp++;
    const resource = {
      ...body,
      kind: 'compute#instance',
      id: String(this.#nextId++),
      name,
      zone: this.#zoneUrl(zone),
      machineType: `${this.#zoneUrl(zone)}/machineTypes/${String(body['machineType'] ?? '')
        .split('/')
        .pop()}`,
      status: 'PROVISIONING',
      creationTimestamp: new Date().toISOString(),
      labels: { ...((body['labels'] ?? {}) as Record<string, string>) },
      networkInterfaces: interfaces.map((networkInterface, index) => ({
        ...networkInterface,
        name: `nic${index}`,
        networkIP: `10.128.${Math.floor(ip / 250)}.${(ip % 250) + 2}`,
        accessConfigs: ((networkInterface['accessConfigs'] ?? []) as Record<string, unknown>[]).map(
          (config) => ({ ...config, natIP: `34.1.${Math.floor(ip / 250)}.${(ip % 250) + 2}` }),
        ),
      })),
      selfLink: `${this.#zoneUrl(zone)}/instances/${name}`,
    };
    const instance: FakeInstance = { resource, zone, capacityType };
    this.#instances.set(`${zone}/${name}`, instance);
    return instance;
  }

  #newOperation(zone: string, operationType: string, target: FakeInstance | string): FakeOperation {
    const id = this.#nextId++;
    const name = `operation-${Date.now()}-${id.toString(16)}`;
    const targetName = typeof target === 'string' ? target : target.resource.name;
    const now = new Date().toISOString();
    const operation: FakeOperation = {
      zone,
      resource: {
        kind: 'compute#operation',
        id: String(id),
        name,
        zone: this.#zoneUrl(zone),
        operationType,
        targetLink: `${this.#zoneUrl(zone)}/instances/${targetName}`,
        status: 'RUNNING',
        progress: 0,
        insertTime: now,
        startTime: now,
        user: 'spothedge-test@example.com',
        selfLink: `${this.#zoneUrl(zone)}/operations/${name}`,
      },
    };
    this.#operations.set(`${zone}/${name}`, operation);
    return operation;
  }

  #finish(operation: FakeOperation): void {
    if (operation.resource.status === 'DONE') return;
    operation.resource.status = 'DONE';
    operation.resource['progress'] = 100;
    operation.resource['endTime'] = new Date().toISOString();
    const finish = operation.finish;
    operation.finish = undefined;
    finish?.();
  }

  #failOperation(
    operation: FakeOperation,
    errors: readonly { code: string; message: string }[],
  ): void {
    operation.resource['error'] = { errors: errors.map((error) => ({ ...error })) };
    operation.resource['httpErrorStatusCode'] = 400;
    operation.resource['httpErrorMessage'] = 'BAD REQUEST';
  }

  #insert(
    zone: string,
    body: Record<string, unknown>,
    requestId: string | null,
  ): FakeOperation | 'exists' {
    if (requestId !== null) {
      const previous = this.#requestIds.get(requestId);
      if (previous !== undefined) return previous;
    }
    const name = String(body['name']);
    if (this.#instances.has(`${zone}/${name}`)) return 'exists';
    const fault = this.#takeFault('instances.insert', 'operation');
    const scheduling = (body['scheduling'] ?? {}) as Record<string, unknown>;
    const capacityType: CapacityType =
      scheduling['provisioningModel'] === 'SPOT' ? 'spot' : 'on-demand';
    const operation = this.#newOperation(zone, 'insert', name);
    if (requestId !== null) this.#requestIds.set(requestId, operation);
    if (fault?.kind === 'operation') {
      this.#failOperation(operation, fault.errors);
      return operation;
    }
    const capacity = this.#capacity.get(`${zone}/${capacityType}`) ?? Number.POSITIVE_INFINITY;
    if (this.#alive(zone, capacityType).length >= capacity) {
      // A stockout arrives in the operation, not as an HTTP error.
      this.#failOperation(operation, [
        {
          code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
          message: `The zone 'projects/${this.project}/zones/${zone}' does not have enough resources available to fulfill the request. Try a different zone, or try again later.`,
        },
      ]);
      return operation;
    }
    const total = [...this.#instances.values()].filter(
      (item) => item.resource.status !== 'TERMINATED',
    ).length;
    if (total >= this.#instanceQuota) {
      this.#failOperation(operation, [
        {
          code: 'QUOTA_EXCEEDED',
          message: `Quota 'INSTANCES' exceeded. Limit: ${this.#instanceQuota} in region ${zone.slice(0, -2)}.`,
        },
      ]);
      return operation;
    }
    const instance = this.#newInstance(zone, body);
    operation.resource['targetId'] = instance.resource['id'];
    operation.finish = () => {
      if (instance.resource.status === 'PROVISIONING') instance.resource.status = 'RUNNING';
    };
    return operation;
  }

  #takeFault(method: GceFakeMethod, kind: GceFakeFault['kind']): GceFakeFault | undefined {
    const queue = this.#faults.get(method);
    if (queue === undefined || queue.length === 0 || queue[0]!.kind !== kind) return undefined;
    return queue.shift();
  }

  // ------------------------------------------------------------ HTTP

  #httpFault(response: ServerResponse, fault: GceFakeFault & { kind: 'http' }): void {
    const message = fault.message ?? `fake error ${fault.status}`;
    const error: Record<string, unknown> = {
      code: fault.status,
      message,
      errors: [{ message, domain: 'global', reason: fault.reason ?? 'backendError' }],
    };
    if (fault.statusName !== undefined) error['status'] = fault.statusName;
    if (fault.errorInfoReason !== undefined) {
      error['details'] = [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: fault.errorInfoReason,
          domain: 'compute.googleapis.com',
        },
      ];
    }
    json(response, fault.status, { error });
  }

  #notFound(response: ServerResponse, what: string): void {
    json(response, 404, {
      error: {
        code: 404,
        message: `The resource '${what}' was not found`,
        errors: [
          { message: `The resource '${what}' was not found`, domain: 'global', reason: 'notFound' },
        ],
      },
    });
  }

  #page<T>(items: readonly T[], query: URLSearchParams): { items: T[]; nextPageToken?: string } {
    const start = Number(query.get('pageToken') || '0');
    const size = Math.min(Number(query.get('maxResults') || this.#maxPageSize), this.#maxPageSize);
    const page = items.slice(start, start + size);
    return start + size < items.length
      ? { items: page, nextPageToken: String(start + size) }
      : { items: page };
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(request);
    const method = request.method ?? 'GET';
    this.authorizations.push(request.headers.authorization ?? '');

    if (url.pathname === `/v1/services/${COMPUTE_ENGINE_SERVICE_ID}/skus` && method === 'GET') {
      return this.#serve('catalog.skus', response, () => {
        const start = Number(url.searchParams.get('pageToken') || '0');
        const page = this.#skus.slice(start, start + this.#catalogPageSize);
        const next =
          start + this.#catalogPageSize < this.#skus.length
            ? String(start + this.#catalogPageSize)
            : '';
        json(response, 200, { skus: page, nextPageToken: next });
      });
    }
    if (!(request.headers.authorization ?? '').startsWith('Bearer ')) {
      return json(response, 401, {
        error: {
          code: 401,
          message: 'Request is missing required authentication credential.',
          status: 'UNAUTHENTICATED',
        },
      });
    }
    if (!url.pathname.startsWith(`${BASE}${this.project}/zones/`)) {
      return this.#notFound(response, url.pathname);
    }
    const [zone = '', collection = '', name, action] = url.pathname
      .slice(`${BASE}${this.project}/zones/`.length)
      .split('/');

    if (collection === 'instances' && name === undefined && method === 'POST') {
      return this.#serve('instances.insert', response, () => {
        const resource = JSON.parse(body) as Record<string, unknown>;
        this.insertBodies.push(resource);
        const operation = this.#insert(zone, resource, url.searchParams.get('requestId'));
        if (operation === 'exists') {
          const message = `The resource 'projects/${this.project}/zones/${zone}/instances/${String(resource['name'])}' already exists`;
          return json(response, 409, {
            error: {
              code: 409,
              message,
              errors: [{ message, domain: 'global', reason: 'alreadyExists' }],
            },
          });
        }
        json(response, 200, operation.resource);
      });
    }
    if (collection === 'instances' && name === undefined && method === 'GET') {
      return this.#serve('instances.list', response, () => {
        this.listQueries.push(url.searchParams);
        const terms = parseFilter(url.searchParams.get('filter') ?? '');
        const items = [...this.#instances.values()]
          .filter((instance) => instance.zone === zone)
          .map((instance) => instance.resource)
          .filter((resource) =>
            terms.every(([path, value]) => String(fieldAt(resource, path)) === value),
          );
        json(response, 200, {
          kind: 'compute#instanceList',
          id: `projects/${this.project}/zones/${zone}/instances`,
          ...this.#page(items, url.searchParams),
        });
      });
    }
    if (collection === 'instances' && name !== undefined && method === 'GET') {
      return this.#serve('instances.get', response, () => {
        const instance = this.#instances.get(`${zone}/${name}`);
        if (instance === undefined)
          return this.#notFound(
            response,
            `projects/${this.project}/zones/${zone}/instances/${name}`,
          );
        json(response, 200, instance.resource);
      });
    }
    if (collection === 'instances' && name !== undefined && method === 'DELETE') {
      return this.#serve('instances.delete', response, () => {
        const instance = this.#instances.get(`${zone}/${name}`);
        if (instance === undefined)
          return this.#notFound(
            response,
            `projects/${this.project}/zones/${zone}/instances/${name}`,
          );
        const operation = this.#newOperation(zone, 'delete', instance);
        const fault = this.#takeFault('instances.delete', 'operation');
        if (fault?.kind === 'operation') {
          this.#failOperation(operation, fault.errors);
          operation.resource.status = 'DONE';
          return json(response, 200, operation.resource);
        }
        instance.resource.status = 'STOPPING';
        operation.finish = () => this.#instances.delete(`${zone}/${name}`);
        json(response, 200, operation.resource);
        // Deletion completes shortly, whether or not anyone waits for it.
        setTimeout(() => this.#finish(operation), 5).unref();
      });
    }
    if (collection === 'operations' && name === undefined && method === 'GET') {
      return this.#serve('operations.list', response, () => {
        const terms = parseFilter(url.searchParams.get('filter') ?? '');
        const items = [...this.#operations.values()]
          .filter((operation) => operation.zone === zone)
          .map((operation) => operation.resource)
          .filter((resource) =>
            terms.every(([path, value]) => String(fieldAt(resource, path)) === value),
          );
        json(response, 200, {
          kind: 'compute#operationList',
          id: `projects/${this.project}/zones/${zone}/operations`,
          ...this.#page(items, url.searchParams),
        });
      });
    }
    if (
      collection === 'operations' &&
      name !== undefined &&
      (method === 'GET' || (method === 'POST' && action === 'wait'))
    ) {
      return this.#serve(action === 'wait' ? 'operations.wait' : 'operations.get', response, () => {
        const operation = this.#operations.get(`${zone}/${name}`);
        if (operation === undefined)
          return this.#notFound(
            response,
            `projects/${this.project}/zones/${zone}/operations/${name}`,
          );
        this.#finish(operation);
        json(response, 200, operation.resource);
      });
    }
    return this.#notFound(response, url.pathname);
  }

  #serve(method: GceFakeMethod, response: ServerResponse, handler: () => void): void {
    this.#calls.set(method, (this.#calls.get(method) ?? 0) + 1);
    const fault = this.#takeFault(method, 'http');
    if (fault?.kind === 'http') return this.#httpFault(response, fault);
    handler();
  }
}

/** Builds a catalog SKU the way the Cloud Billing Catalog API returns it. */
export function catalogSku(options: {
  readonly description: string;
  readonly usageType: 'OnDemand' | 'Preemptible' | 'Commit1Yr';
  readonly regions: readonly string[];
  /** USD per unit (hour, GiB-hour, GPU-hour). */
  readonly price: number;
  readonly resourceGroup?: string;
  readonly usageUnit?: string;
}): BillingSku {
  const units = Math.floor(options.price);
  const nanos = Math.round((options.price - units) * 1e9);
  return {
    skuId: `SKU-${options.description.length}-${units}-${nanos}`,
    description: options.description,
    category: {
      resourceFamily: 'Compute',
      resourceGroup: options.resourceGroup ?? 'CPU',
      usageType: options.usageType,
    },
    serviceRegions: [...options.regions],
    pricingInfo: [
      {
        effectiveTime: '2026-11-01T00:00:00Z',
        pricingExpression: {
          usageUnit: options.usageUnit ?? 'h',
          tieredRates: [
            {
              startUsageAmount: 0,
              unitPrice: { currencyCode: 'USD', units: String(units), nanos },
            },
          ],
        },
      },
    ],
  };
}
