import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AuthError,
  InvalidArgumentError,
  InvalidConfigError,
  NotOwnedError,
  SpotHedgeError,
  describeValue,
  hasTags,
  locationId,
  parseLocationId,
  replicaEndpoint,
  throwIfAborted,
  type CallContext,
  type Instance,
  type InstanceState,
  type InterruptionNotice,
  type LaunchRequest,
  type ListRequest,
  type Location,
  type Offering,
  type ProviderV1,
  type TerminateRequest,
} from '@spothedge/core';
import {
  SIGNATURE_HEADER,
  type ApiInstance,
  type ApiInstanceStatus,
  type PreemptionNoticeBody,
} from './gpu-cloud-api.js';
import { GpuCloudClient } from './gpu-cloud-client.js';

/** The provider name, also the cloud part of its location ids (`gpu-cloud/<region>`). */
export const GPU_CLOUD = 'gpu-cloud';

// #region settings
/** Settings of {@link createGpuCloudProvider}. */
export interface GpuCloudProviderSettings {
  /** API key (sent as a bearer token). */
  readonly apiKey: string;
  /** Regions to launch in; each becomes the location `gpu-cloud/<region>`. */
  readonly regions: readonly string[];
  /** @default 'https://api.gpu-cloud.example' */
  readonly baseUrl?: string | undefined;
  /**
   * Shared secret of the preemption-notice webhook. Without it the provider has no
   * `interruptions` capability (the engine then learns of preemptions from `list`).
   */
  readonly webhookSecret?: string | undefined;
  /**
   * Port for each instance's `endpoint`, when replicas are reached on another port than the
   * service's (a port mapping).
   * @default the port the service launched the instance with (its `spothedge-port` tag)
   */
  readonly replicaPort?: number | undefined;
  /**
   * How long fetched prices are reused.
   * @default 300_000
   */
  readonly priceCacheMs?: number | undefined;
  /**
   * Time budget of one HTTP call.
   * @default 30_000
   */
  readonly requestTimeoutMs?: number | undefined;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}
// #endregion

/** A webhook delivery as the host's HTTP server received it. */
export interface GpuCloudWebhookDelivery {
  /** The raw request body (the signature covers these exact bytes). */
  readonly body: string;
  /** The `X-Gpu-Cloud-Signature` header. */
  readonly signature: string | undefined;
}

const REGION_PATTERN = /^[a-z][a-z0-9-]*[a-z0-9]$/;
/** Notices are kept this long past their deadline, then forgotten. */
const NOTICE_RETENTION_MS = 600_000;
const MAX_WEBHOOK_BYTES = 64 * 1024;

// #region state-mapping
const STATE_OF: Record<ApiInstanceStatus, InstanceState> = {
  provisioning: 'pending',
  running: 'running',
  deleting: 'stopping',
  deleted: 'terminated',
  reclaimed: 'preempted',
};
// #endregion

function invalidSetting(setting: string, expected: string, value: unknown): InvalidConfigError {
  return new InvalidConfigError(
    `Expected \`${setting}\` to be ${expected}, got ${describeValue(value)}`,
    { setting, value },
  );
}

function positive(setting: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidSetting(setting, 'a positive number of milliseconds', value);
  }
  return value;
}

// #region class
/**
 * A {@link ProviderV1} for gpu-cloud, written only against the public API of
 * `@spothedge/core`. Stateless apart from a price cache and the webhook notices it received.
 */
export class GpuCloudProvider implements ProviderV1 {
  readonly specificationVersion = 'v1';
  readonly name = GPU_CLOUD;
  /**
   * Optional capability: present only when a webhook secret is configured, so the engine
   * knows whether notices can arrive at all.
   */
  readonly interruptions?: (
    request: ListRequest,
    context?: CallContext,
  ) => Promise<readonly InterruptionNotice[]>;
  // #endregion

  protected readonly client: GpuCloudClient;
  readonly #regions: ReadonlySet<string>;
  readonly #locations: readonly Location[];
  readonly #replicaPort: number | undefined;
  readonly #priceCacheMs: number;
  readonly #webhookSecret: string | undefined;
  readonly #now: () => number;
  #prices: { readonly offerings: readonly Offering[]; readonly fetchedAt: number } | undefined;
  readonly #notices = new Map<
    string,
    { readonly notice: InterruptionNotice; readonly labels: Readonly<Record<string, string>> }
  >();

  // #region constructor
  constructor(settings: GpuCloudProviderSettings) {
    // Validate eagerly: a bad setting fails here, naming itself, before anything launches.
    if (typeof settings.apiKey !== 'string' || settings.apiKey === '') {
      throw invalidSetting('apiKey', 'a non-empty string', settings.apiKey);
    }
    const regions: unknown = settings.regions;
    if (
      !Array.isArray(regions) ||
      regions.length === 0 ||
      !regions.every((region) => typeof region === 'string' && REGION_PATTERN.test(region))
    ) {
      throw invalidSetting('regions', 'a non-empty array of region names', regions);
    }
    const baseUrl = settings.baseUrl ?? 'https://api.gpu-cloud.example';
    if (!URL.canParse(baseUrl)) throw invalidSetting('baseUrl', 'an absolute URL', baseUrl);
    const { replicaPort } = settings;
    if (
      replicaPort !== undefined &&
      (!Number.isInteger(replicaPort) || replicaPort < 1 || replicaPort > 65_535)
    ) {
      throw invalidSetting('replicaPort', 'an integer port (1-65535)', replicaPort);
    }
    const { webhookSecret } = settings;
    if (
      webhookSecret !== undefined &&
      (typeof webhookSecret !== 'string' || webhookSecret === '')
    ) {
      throw invalidSetting('webhookSecret', 'a non-empty string', webhookSecret);
    }
    this.#regions = new Set(regions as string[]);
    this.#locations = [...this.#regions].map((region) => ({
      id: locationId(GPU_CLOUD, region),
      cloud: GPU_CLOUD,
      region,
    }));
    this.#replicaPort = replicaPort;
    this.#priceCacheMs = positive('priceCacheMs', settings.priceCacheMs, 300_000);
    this.#webhookSecret = webhookSecret;
    this.#now = settings.now ?? Date.now;
    this.client = new GpuCloudClient({
      baseUrl,
      apiKey: settings.apiKey,
      // Read lazily so a host (or a test) can swap the global fetch after construction.
      fetch: settings.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      requestTimeoutMs: positive('requestTimeoutMs', settings.requestTimeoutMs, 30_000),
      now: this.#now,
    });
    if (webhookSecret !== undefined) {
      this.interruptions = (request, context) => this.#interruptions(request, context);
    }
  }
  // #endregion

  // #region locations
  locations(): readonly Location[] {
    return this.#locations;
  }
  // #endregion

  // #region offerings
  async offerings(context: CallContext = {}): Promise<readonly Offering[]> {
    const now = this.#now();
    if (this.#prices !== undefined && now - this.#prices.fetchedAt < this.#priceCacheMs) {
      return this.#prices.offerings;
    }
    const body = await this.client.listPrices({ abortSignal: context.abortSignal });
    const priceAsOf = Date.parse(body.as_of);
    const offerings = body.prices
      .filter((price) => this.#regions.has(price.region))
      .flatMap((price): Offering[] => {
        const location = locationId(GPU_CLOUD, price.region);
        const common = { location, instanceType: price.gpu, priceAsOf };
        return [
          { ...common, capacityType: 'spot', hourlyPrice: price.spot_hourly_usd },
          { ...common, capacityType: 'on-demand', hourlyPrice: price.on_demand_hourly_usd },
        ];
      });
    this.#prices = { offerings, fetchedAt: now };
    return offerings;
  }
  // #endregion

  // #region launch
  async launch(request: LaunchRequest, context: CallContext = {}): Promise<Instance> {
    throwIfAborted(context.abortSignal);
    const region = this.#regionOf(request.location);
    // The cloud's own idempotency key makes a retried POST return the first instance.
    // Labels are set in the same call, so the instance is never untagged, not even briefly.
    const created = await this.client.createInstance(
      {
        region,
        gpu: request.instanceType,
        spot: request.capacityType === 'spot',
        labels: request.tags,
        user_data: request.startupScript,
      },
      request.idempotencyKey,
      {
        abortSignal: context.abortSignal,
        location: request.location,
        capacityType: request.capacityType,
      },
    );
    return this.#toInstance(created);
  }
  // #endregion

  // #region list
  async list(request: ListRequest, context: CallContext = {}): Promise<readonly Instance[]> {
    const instances: Instance[] = [];
    let pageToken: string | undefined;
    do {
      throwIfAborted(context.abortSignal);
      // Any page failing rejects the whole call: a partial list would look like lost instances.
      const page = await this.client.listInstances(request.tags, pageToken, {
        abortSignal: context.abortSignal,
      });
      for (const item of page.instances) {
        // Filter again on our side: the label filter is the cloud's, the contract is ours.
        if (hasTags(item.labels, request.tags)) instances.push(this.#toInstance(item));
      }
      pageToken = page.next_page_token;
    } while (pageToken !== undefined);
    return instances;
  }
  // #endregion

  // #region terminate
  async terminate(request: TerminateRequest, context: CallContext = {}): Promise<void> {
    throwIfAborted(context.abortSignal);
    // An empty tag set matches every instance: never delete on that basis.
    if (Object.keys(request.tags).length === 0) {
      throw new InvalidArgumentError(
        `Expected \`tags\` to name the ownership tags the instance must carry, got ${describeValue(request.tags)}`,
        { argument: 'tags', value: request.tags },
      );
    }
    const options = { abortSignal: context.abortSignal };
    const current = await this.client.getInstance(request.instanceId, options);
    if (current === undefined) return; // unknown or long gone: idempotent success
    // gpu-cloud labels are immutable after creation, so checking before deleting is safe.
    if (!hasTags(current.labels, request.tags)) {
      throw new NotOwnedError(
        `gpu-cloud: instance ${describeValue(request.instanceId)} does not carry the ownership tags ${describeValue(request.tags)}; not terminating it`,
        { instanceId: request.instanceId },
      );
    }
    if (current.status === 'deleted') return;
    await this.client.deleteInstance(request.instanceId, options); // a 404 here is success too
  }
  // #endregion

  // #region interruptions
  async #interruptions(
    request: ListRequest,
    context: CallContext = {},
  ): Promise<readonly InterruptionNotice[]> {
    throwIfAborted(context.abortSignal);
    const now = this.#now();
    const notices: InterruptionNotice[] = [];
    for (const [instanceId, { notice, labels }] of this.#notices) {
      if ((notice.deadline ?? notice.noticedAt) + NOTICE_RETENTION_MS < now) {
        this.#notices.delete(instanceId); // long past: forget it
      } else if (hasTags(labels, request.tags)) {
        notices.push(notice); // only this service's instances
      }
    }
    return notices;
  }
  // #endregion

  // #region handle-webhook
  /**
   * Verifies and records one webhook delivery. Throws `AuthError` for a missing or wrong
   * signature, `InvalidArgumentError` for a body that is not a gpu-cloud event. Unknown
   * event types are accepted and ignored, so new cloud events never break the host.
   */
  handleWebhook(delivery: GpuCloudWebhookDelivery): void {
    if (this.#webhookSecret === undefined) {
      throw new AuthError('gpu-cloud: a webhook arrived but no `webhookSecret` is configured');
    }
    const expected = `sha256=${createHmac('sha256', this.#webhookSecret).update(delivery.body).digest('hex')}`;
    const given = Buffer.from(delivery.signature ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      throw new AuthError('gpu-cloud: webhook signature mismatch');
    }
    let event: Partial<PreemptionNoticeBody>;
    try {
      event = JSON.parse(delivery.body) as Partial<PreemptionNoticeBody>;
    } catch (error) {
      throw new InvalidArgumentError('gpu-cloud: webhook body is not JSON', {
        argument: 'body',
        value: delivery.body,
        cause: error,
      });
    }
    if (event.type !== 'instance.preemption_notice') return;
    const noticedAt = Date.parse(event.sent_at ?? '');
    const deadline = Date.parse(event.reclaim_at ?? '');
    if (typeof event.instance_id !== 'string' || typeof event.labels !== 'object') {
      throw new InvalidArgumentError('gpu-cloud: preemption notice without instance_id/labels', {
        argument: 'body',
        value: event,
      });
    }
    this.#notices.set(event.instance_id, {
      labels: event.labels ?? {},
      notice: {
        instanceId: event.instance_id,
        noticedAt: Number.isNaN(noticedAt) ? this.#now() : noticedAt,
        deadline: Number.isNaN(deadline) ? undefined : deadline,
      },
    });
  }
  // #endregion

  // #region webhook-handler
  /**
   * A `(req, res)` handler for the webhook URL, for node:http, express or fastify:
   * `204` when recorded, `401` for a bad signature, `400` for a bad body, `413` when too big.
   */
  webhookHandler(): (request: IncomingMessage, response: ServerResponse) => void {
    return (request, response) => {
      if (request.method !== 'POST') {
        response.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_WEBHOOK_BYTES) {
          response.writeHead(413, { connection: 'close' }).end();
          request.destroy();
        } else chunks.push(chunk);
      });
      request.on('end', () => {
        try {
          this.handleWebhook({
            body: Buffer.concat(chunks).toString('utf8'),
            signature: request.headers[SIGNATURE_HEADER] as string | undefined,
          });
          response.writeHead(204).end();
        } catch (error) {
          const status = AuthError.isInstance(error)
            ? 401
            : SpotHedgeError.isInstance(error)
              ? 400
              : 500;
          response.writeHead(status).end();
        }
      });
    };
  }
  // #endregion

  /** Nothing to release but remembered notices: `fetch` pools belong to the host. */
  async close(): Promise<void> {
    this.#notices.clear();
  }

  #regionOf(location: string): string {
    const { cloud, region, zone } = parseLocationId(location);
    if (cloud !== GPU_CLOUD || zone !== undefined || !this.#regions.has(region)) {
      throw new InvalidArgumentError(
        `Expected \`location\` to be one of ${this.#locations.map((item) => item.id).join(', ')}, got ${describeValue(location)}`,
        { argument: 'location', value: location },
      );
    }
    return region;
  }

  #toInstance(item: ApiInstance): Instance {
    return {
      id: item.id,
      location: locationId(GPU_CLOUD, item.region),
      instanceType: item.gpu,
      capacityType: item.spot ? 'spot' : 'on-demand',
      state: STATE_OF[item.status] ?? 'pending',
      stateReason: item.status,
      tags: item.labels,
      launchedAt: Date.parse(item.created_at),
      // The service's port comes back in the instance's tags, so this works after a restart.
      endpoint: replicaEndpoint({ address: item.ip, tags: item.labels, port: this.#replicaPort }),
    };
  }
}

// #region factory
/**
 * Creates the gpu-cloud provider. Throws `InvalidConfigError` (naming the setting and the
 * value) for a bad setting; makes no network call until the engine asks for something.
 *
 * @example
 * ```ts
 * const gpuCloud = createGpuCloudProvider({
 *   apiKey: process.env.GPU_CLOUD_API_KEY!,
 *   regions: ['us-east', 'eu-west'],
 *   webhookSecret: process.env.GPU_CLOUD_WEBHOOK_SECRET,
 * });
 * ```
 */
export function createGpuCloudProvider(settings: GpuCloudProviderSettings): GpuCloudProvider {
  return new GpuCloudProvider(settings);
}
// #endregion
