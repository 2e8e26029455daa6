/**
 * A tiny in-process gpu-cloud: the REST API of `gpu-cloud-api.ts` on 127.0.0.1 (node:http),
 * with levers a test pulls — capacity per region, reclaiming spot instances, signed
 * preemption-notice webhooks, throttling (429 + Retry-After) and scripted failures.
 *
 * Strict where the real API would be: bearer token checked, unknown region or GPU shape
 * rejected with `400 invalid_request`, an `Idempotency-Key` reused with other parameters
 * rejected with `422`. No timers: instances move from `provisioning` to `running` and from
 * `deleting` to `deleted` on the next read.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SIGNATURE_HEADER,
  type ApiErrorCode,
  type ApiInstance,
  type ApiInstanceStatus,
  type ApiPrice,
  type CreateInstanceBody,
  type PreemptionNoticeBody,
} from '../gpu-cloud-api.js';

/** Options of {@link startFakeGpuCloud}. */
export interface FakeGpuCloudOptions {
  /** @default 'test-key' */
  readonly apiKey?: string;
  /** @default [{ region: 'us-east', gpu: 'h100-80gb', spot 2.1, on-demand 6.3 }, same in 'eu-west'] */
  readonly prices?: readonly ApiPrice[];
  /** Instances per list page. @default 50 */
  readonly pageSize?: number;
  /** Where preemption notices are POSTed (can also be set later with `setWebhook`). */
  readonly webhookUrl?: string;
  readonly webhookSecret?: string;
  /** Private address reported for a running instance. @default `10.0.<n>.<n>` */
  readonly addressFor?: (instance: FakeGpuInstance) => string;
}

/** An instance as the fake stores it. */
export interface FakeGpuInstance {
  id: string;
  region: string;
  gpu: string;
  spot: boolean;
  status: ApiInstanceStatus;
  labels: Record<string, string>;
  createdAt: number;
  userData: string | undefined;
  idempotencyKey: string | undefined;
  /** Created behind the provider's back (not through the API). */
  foreign: boolean;
}

/** One request the fake received (for assertions). */
export interface FakeGpuCloudRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

interface ScriptedFailure {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly retryAfter?: string | undefined;
  readonly method?: string | undefined;
  times: number;
}

const DEFAULT_PRICES: readonly ApiPrice[] = [
  { region: 'us-east', gpu: 'h100-80gb', spot_hourly_usd: 2.1, on_demand_hourly_usd: 6.3 },
  { region: 'eu-west', gpu: 'h100-80gb', spot_hourly_usd: 2.4, on_demand_hourly_usd: 6.9 },
];

const ALIVE: ReadonlySet<ApiInstanceStatus> = new Set(['provisioning', 'running']);

export class FakeGpuCloud {
  /** Every request, in order. */
  readonly requests: FakeGpuCloudRequest[] = [];
  readonly #server: Server;
  readonly #apiKey: string;
  readonly #prices: readonly ApiPrice[];
  readonly #pageSize: number;
  readonly #addressFor: (instance: FakeGpuInstance) => string;
  readonly #instances = new Map<string, FakeGpuInstance>();
  readonly #byKey = new Map<string, string>();
  readonly #capacity = new Map<string, number>();
  readonly #failures: ScriptedFailure[] = [];
  #webhook: { url: string; secret: string } | undefined;
  #counter = 0;

  constructor(server: Server, options: FakeGpuCloudOptions) {
    this.#server = server;
    this.#apiKey = options.apiKey ?? 'test-key';
    this.#prices = options.prices ?? DEFAULT_PRICES;
    this.#pageSize = options.pageSize ?? 50;
    this.#addressFor =
      options.addressFor ??
      ((instance) => {
        const n = Number(instance.id.slice(-4));
        return `10.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
      });
    if (options.webhookUrl !== undefined && options.webhookSecret !== undefined) {
      this.#webhook = { url: options.webhookUrl, secret: options.webhookSecret };
    }
  }

  /** Base URL of the API, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Where preemption notices go, if set. */
  get webhookUrl(): string | undefined {
    return this.#webhook?.url;
  }

  /** Where preemption notices go from now on. */
  setWebhook(url: string, secret: string): void {
    this.#webhook = { url, secret };
  }

  /** At most `count` live instances of this capacity type in `region` (spot: `spot: true`). */
  setCapacity(region: string, capacity: { spot: boolean; count: number }): void {
    this.#capacity.set(`${region}/${capacity.spot}`, capacity.count);
  }

  /** The next `times` matching requests fail with this status and error code. */
  failNext(failure: {
    status: number;
    code: ApiErrorCode;
    retryAfter?: string;
    method?: string;
    times?: number;
  }): void {
    this.#failures.push({ ...failure, times: failure.times ?? 1 });
  }

  /** Reclaims a spot instance now (status `reclaimed`). */
  reclaim(id: string): void {
    const instance = this.#instances.get(id);
    if (instance === undefined || !instance.spot) throw new Error(`no spot instance ${id}`);
    if (ALIVE.has(instance.status)) instance.status = 'reclaimed';
  }

  /**
   * POSTs a signed preemption notice for this instance to the webhook and waits for a 2xx
   * (as the cloud would, it retries nothing: a failed delivery throws here).
   */
  async sendPreemptionNotice(id: string, options: { reclaimInMs?: number } = {}): Promise<void> {
    const instance = this.#instances.get(id);
    if (instance === undefined) throw new Error(`no instance ${id}`);
    if (this.#webhook === undefined) throw new Error('no webhook configured');
    const now = Date.now();
    const notice: PreemptionNoticeBody = {
      type: 'instance.preemption_notice',
      instance_id: id,
      labels: { ...instance.labels },
      reclaim_at: new Date(now + (options.reclaimInMs ?? 120_000)).toISOString(),
      sent_at: new Date(now).toISOString(),
    };
    const body = JSON.stringify(notice);
    const signature = `sha256=${createHmac('sha256', this.#webhook.secret).update(body).digest('hex')}`;
    const response = await fetch(this.#webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
      body,
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  }

  /** Adds an instance someone else launched (no spothedge labels); returns its id. */
  createForeignInstance(region: string): string {
    return this.#create(
      {
        region,
        gpu: this.#prices[0]?.gpu ?? 'h100-80gb',
        spot: false,
        labels: { team: 'research' },
      },
      undefined,
      true,
    ).id;
  }

  /** The instance as stored (after lazy transitions), or undefined. */
  instance(id: string): FakeGpuInstance | undefined {
    const instance = this.#instances.get(id);
    if (instance !== undefined) this.#advance(instance);
    return instance;
  }

  /** Every instance ever created, oldest first. */
  instances(): FakeGpuInstance[] {
    return [...this.#instances.values()].map((instance) => this.#advance(instance));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.close((error) => (error === undefined ? resolve() : reject(error)));
      this.#server.closeAllConnections();
    });
  }

  /** The request handler (exposed for `startFakeGpuCloud`). */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      this.requests.push({ method, path: url.pathname, status });
      const text = body === undefined ? '' : JSON.stringify(body);
      response.writeHead(status, {
        ...(text === '' ? {} : { 'content-type': 'application/json' }),
        ...headers,
      });
      response.end(text);
    };
    const fail = (status: number, code: ApiErrorCode, message: string, headers = {}): void =>
      send(status, { error: { code, message } }, headers);

    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.headers.authorization !== `Bearer ${this.#apiKey}`) {
      return fail(401, 'unauthorized', 'invalid API key');
    }
    const scripted = this.#failures.find(
      (failure) => failure.method === undefined || failure.method === method,
    );
    if (scripted !== undefined) {
      scripted.times -= 1;
      if (scripted.times <= 0) this.#failures.splice(this.#failures.indexOf(scripted), 1);
      return fail(
        scripted.status,
        scripted.code,
        'scripted failure',
        scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter },
      );
    }

    const id = /^\/v1\/instances\/([^/]+)$/.exec(url.pathname)?.[1];
    if (method === 'GET' && url.pathname === '/v1/prices') {
      return send(200, { prices: this.#prices, as_of: new Date().toISOString() });
    }
    if (method === 'POST' && url.pathname === '/v1/instances') {
      let body: CreateInstanceBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CreateInstanceBody;
      } catch {
        return fail(400, 'invalid_request', 'body is not JSON');
      }
      const key = request.headers['idempotency-key'] as string | undefined;
      const existing = key === undefined ? undefined : this.#byKey.get(key);
      if (existing !== undefined) {
        const instance = this.instance(existing)!;
        const same =
          instance.region === body.region &&
          instance.gpu === body.gpu &&
          instance.spot === body.spot &&
          JSON.stringify(instance.labels) === JSON.stringify(body.labels);
        if (!same)
          return fail(422, 'invalid_request', 'Idempotency-Key reused with other parameters');
        return send(200, this.#toApi(instance));
      }
      if (!this.#prices.some((price) => price.region === body.region && price.gpu === body.gpu)) {
        return fail(400, 'invalid_request', `no ${body.gpu} in region ${body.region}`);
      }
      const limit = this.#capacity.get(`${body.region}/${body.spot}`);
      const live = this.instances().filter(
        (item) => item.region === body.region && item.spot === body.spot && ALIVE.has(item.status),
      ).length;
      if (limit !== undefined && live >= limit) {
        return fail(
          409,
          'no_capacity',
          `no ${body.spot ? 'spot ' : ''}${body.gpu} left in ${body.region}`,
        );
      }
      const created = this.#create(body, key, false);
      // Answer with the state at creation; reads after this see it running.
      return send(201, { ...this.#toApi(created), status: 'provisioning', ip: undefined });
    }
    if (method === 'GET' && url.pathname === '/v1/instances') {
      const filters = url.searchParams.getAll('label').map((pair) => {
        const at = pair.indexOf(':');
        return [pair.slice(0, at), pair.slice(at + 1)] as const;
      });
      const matching = this.instances().filter((instance) =>
        filters.every(([key, value]) => instance.labels[key] === value),
      );
      const start = Number(url.searchParams.get('page_token') ?? '0');
      const page = matching.slice(start, start + this.#pageSize);
      const next =
        start + this.#pageSize < matching.length ? String(start + this.#pageSize) : undefined;
      return send(200, {
        instances: page.map((instance) => this.#toApi(instance)),
        ...(next === undefined ? {} : { next_page_token: next }),
      });
    }
    if (id !== undefined && (method === 'GET' || method === 'DELETE')) {
      const instance = this.instance(decodeURIComponent(id));
      if (instance === undefined) return fail(404, 'not_found', `no instance ${id}`);
      if (method === 'DELETE' && instance.status !== 'deleted') instance.status = 'deleting';
      return method === 'GET' ? send(200, this.#toApi(instance)) : send(202);
    }
    return fail(404, 'not_found', `no route ${method} ${url.pathname}`);
  }

  #create(body: CreateInstanceBody, key: string | undefined, foreign: boolean): FakeGpuInstance {
    this.#counter += 1;
    const instance: FakeGpuInstance = {
      id: `gi-${String(this.#counter).padStart(4, '0')}`,
      region: body.region,
      gpu: body.gpu,
      spot: body.spot,
      status: 'provisioning',
      labels: { ...body.labels },
      createdAt: Date.now(),
      userData: body.user_data,
      idempotencyKey: key,
      foreign,
    };
    this.#instances.set(instance.id, instance);
    if (key !== undefined) this.#byKey.set(key, instance.id);
    return instance;
  }

  /** Lazy transitions: a read after creation sees it running, after delete sees it deleted. */
  #advance(instance: FakeGpuInstance): FakeGpuInstance {
    if (instance.status === 'provisioning') instance.status = 'running';
    else if (instance.status === 'deleting') instance.status = 'deleted';
    return instance;
  }

  #toApi(instance: FakeGpuInstance): ApiInstance {
    return {
      id: instance.id,
      region: instance.region,
      gpu: instance.gpu,
      spot: instance.spot,
      status: instance.status,
      labels: instance.labels,
      created_at: new Date(instance.createdAt).toISOString(),
      ...(instance.status === 'running' ? { ip: this.#addressFor(instance) } : {}),
    };
  }
}

/** Starts a fake gpu-cloud on 127.0.0.1 (an ephemeral port). */
export async function startFakeGpuCloud(options: FakeGpuCloudOptions = {}): Promise<FakeGpuCloud> {
  const server = createServer((request, response) => {
    cloud.handle(request, response).catch((error: unknown) => {
      response
        .writeHead(500)
        .end(JSON.stringify({ error: { code: 'internal', message: String(error) } }));
    });
  });
  const cloud = new FakeGpuCloud(server, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return cloud;
}
