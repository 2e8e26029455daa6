import {
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type {
  EC2ClientConfig,
  Filter,
  Instance as Ec2Instance,
  RunInstancesCommandInput,
  _InstanceType,
} from '@aws-sdk/client-ec2';
import {
  AbortedError,
  CAPACITY_TYPES,
  CapacityUnavailableError,
  IllegalStateError,
  InvalidArgumentError,
  NotOwnedError,
  SystemClock,
  describeValue,
  hasTags,
  locationId,
  parseLocationId,
  throwIfAborted,
} from '@spothedge/core';
import type {
  CallContext,
  CapacityType,
  Clock,
  Instance,
  LaunchRequest,
  ListRequest,
  Location,
  Offering,
  ProviderV1,
  SpotHedgeError,
  TerminateRequest,
} from '@spothedge/core';
import { MAX_USER_DATA_BYTES, resolveAwsProviderSettings } from './aws-provider-settings.js';
import type {
  AwsProviderSettings,
  ResolvedAwsProviderSettings,
  ResolvedAwsRegion,
} from './aws-provider-settings.js';
import { ec2ErrorCode, mapEc2Error } from './map-ec2-error.js';
import { instanceFromEc2 } from './map-ec2-instance.js';
import { onDemandPrice } from './on-demand-prices.js';
import type { OnDemandPriceTable } from './on-demand-prices.js';

const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9-_.:]{1,64}$/;

interface SpotPriceEntry {
  readonly price: number;
  readonly asOf: number;
}

interface SpotPriceCache {
  readonly fetchedAt: number;
  /** Keyed by `${zone} ${instanceType}`. */
  readonly prices: ReadonlyMap<string, SpotPriceEntry>;
}

interface CallOptions {
  readonly action: string;
  readonly location?: string | undefined;
  readonly capacityType?: CapacityType | undefined;
  readonly abortSignal?: AbortSignal | undefined;
  readonly settings?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The AWS EC2 provider. Create it with {@link createAwsProvider}.
 *
 * - `launch` calls `RunInstances` once per attempt, in one availability zone, tagged at
 *   creation, with `ClientToken` = the idempotency key; capacity errors reject at once.
 * - `list` pages through `DescribeInstances` filtered by tags in every configured region.
 * - `terminate` checks the ownership tags with `DescribeInstances` before
 *   `TerminateInstances`, and resolves for unknown or already-terminated instances.
 * - `offerings` reads spot prices from `DescribeSpotPriceHistory` (cached per region for
 *   `spotPriceRefreshMs`) and on-demand prices from a built-in, overridable table.
 *
 * Spot interruption notices are not offered: EC2 publishes them only through instance
 * metadata and EventBridge, not through the EC2 API.
 */
export class AwsProvider implements ProviderV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly #settings: ResolvedAwsProviderSettings;
  readonly #source: AwsProviderSettings;
  readonly #clock: Clock;
  readonly #regions: ReadonlyMap<string, ResolvedAwsRegion>;
  readonly #clients = new Map<string, EC2Client>();
  readonly #regionByInstance = new Map<string, string>();
  readonly #spotPrices = new Map<string, SpotPriceCache>();
  readonly #spotPriceRefreshes = new Map<string, Promise<SpotPriceCache>>();
  readonly #locations: readonly Location[];
  #closed = false;
  /** Aborts background work (shared price refreshes) on close. */
  readonly #lifetime = new AbortController();

  constructor(settings: AwsProviderSettings) {
    this.#settings = resolveAwsProviderSettings(settings);
    this.#source = settings;
    this.#clock = settings.clock ?? new SystemClock();
    this.name = this.#settings.name;
    this.#regions = new Map(this.#settings.regions.map((region) => [region.region, region]));
    this.#locations = this.#settings.regions.flatMap((region) =>
      region.zones.map((zone) => ({
        id: locationId(this.name, region.region, zone),
        cloud: this.name,
        region: region.region,
        zone,
      })),
    );
  }

  locations(): readonly Location[] {
    return this.#locations;
  }

  async offerings(context: CallContext = {}): Promise<readonly Offering[]> {
    this.#assertOpen();
    throwIfAborted(context.abortSignal);
    const perRegion = await Promise.all(
      this.#settings.regions.map(async (region) => {
        const spot = await this.#spotPricesFor(region, context.abortSignal);
        const offerings: Offering[] = [];
        for (const zone of region.zones) {
          const location = locationId(this.name, region.region, zone);
          for (const instanceType of this.#settings.instanceTypes) {
            const spotPrice = spot.prices.get(`${zone} ${instanceType}`);
            if (spotPrice !== undefined) {
              offerings.push({
                location,
                instanceType,
                capacityType: 'spot',
                hourlyPrice: spotPrice.price,
                priceAsOf: spotPrice.asOf,
              });
            }
            const price = onDemandPrice({
              instanceType,
              region: region.region,
              overrides: this.#source.onDemandPrices as OnDemandPriceTable | undefined,
            });
            if (price !== undefined) {
              offerings.push({
                location,
                instanceType,
                capacityType: 'on-demand',
                hourlyPrice: price,
              });
            }
          }
        }
        return offerings;
      }),
    );
    return perRegion.flat();
  }

  async launch(request: LaunchRequest, context: CallContext = {}): Promise<Instance> {
    this.#assertOpen();
    throwIfAborted(context.abortSignal);
    const { region, zone } = this.#checkLocation(request.location);
    if (!CAPACITY_TYPES.includes(request.capacityType)) {
      throw new InvalidArgumentError(
        `Expected \`capacityType\` to be 'spot' or 'on-demand', got ${describeValue(request.capacityType)}`,
        { argument: 'capacityType', value: request.capacityType },
      );
    }
    if (!this.#settings.instanceTypes.includes(request.instanceType)) {
      throw new InvalidArgumentError(
        `Expected \`instanceType\` to be one of the configured types (${this.#settings.instanceTypes.join(', ')}), got ${describeValue(request.instanceType)}`,
        { argument: 'instanceType', value: request.instanceType },
      );
    }
    if (
      typeof request.idempotencyKey !== 'string' ||
      !IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)
    ) {
      throw new InvalidArgumentError(
        `Expected \`idempotencyKey\` to be 1–64 characters of [A-Za-z0-9-_.:], got ${describeValue(request.idempotencyKey)}`,
        { argument: 'idempotencyKey', value: request.idempotencyKey },
      );
    }
    const startupScript = request.startupScript ?? this.#settings.startupScript;
    if (startupScript !== undefined && Buffer.byteLength(startupScript) > MAX_USER_DATA_BYTES) {
      throw new InvalidArgumentError(
        `Expected \`startupScript\` to be at most ${MAX_USER_DATA_BYTES} bytes (EC2 user data limit), got ${Buffer.byteLength(startupScript)} bytes`,
        { argument: 'startupScript', value: startupScript },
      );
    }

    const tags = { ...this.#settings.tags, ...request.tags };
    const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    const subnetId = region.subnets[zone];
    const profile = this.#settings.iamInstanceProfile;
    const input: RunInstancesCommandInput = {
      ImageId: region.imageId,
      InstanceType: request.instanceType as _InstanceType,
      MinCount: 1,
      MaxCount: 1,
      ClientToken: request.idempotencyKey,
      Placement: { AvailabilityZone: zone },
      ...(subnetId === undefined ? {} : { SubnetId: subnetId }),
      ...(region.securityGroupIds.length === 0
        ? {}
        : { SecurityGroupIds: [...region.securityGroupIds] }),
      ...(profile === undefined
        ? {}
        : {
            IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile },
          }),
      ...(this.#settings.keyName === undefined ? {} : { KeyName: this.#settings.keyName }),
      ...(startupScript === undefined
        ? {}
        : { UserData: Buffer.from(startupScript).toString('base64') }),
      ...(request.capacityType === 'spot'
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot',
              SpotOptions: {
                SpotInstanceType: 'one-time',
                InstanceInterruptionBehavior: 'terminate',
                ...(this.#settings.maxSpotPrice === undefined
                  ? {}
                  : { MaxPrice: this.#settings.maxSpotPrice }),
              },
            },
          }
        : {}),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tagList },
        { ResourceType: 'volume', Tags: tagList },
      ],
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    };

    let reservation;
    try {
      reservation = await this.#call(
        region,
        (client, abortSignal) => client.send(new RunInstancesCommand(input), { abortSignal }),
        {
          action: 'RunInstances',
          location: request.location,
          capacityType: request.capacityType,
          abortSignal: context.abortSignal,
          settings: {
            imageId: region.imageId,
            subnets: subnetId,
            securityGroupIds: region.securityGroupIds,
            keyName: this.#settings.keyName,
          },
        },
      );
    } catch (error) {
      const cause = (error as SpotHedgeError).cause;
      if (ec2ErrorCode(cause) === 'IdempotentParameterMismatch') {
        throw new InvalidArgumentError(
          `The idempotency key ${describeValue(request.idempotencyKey)} was already used for a different launch request`,
          { argument: 'idempotencyKey', value: request.idempotencyKey, cause },
        );
      }
      throw error;
    }
    const launched = reservation.Instances?.[0];
    if (launched?.InstanceId === undefined) {
      // EC2 accepted the call but returned no instance: treat it as no capacity, nothing billable.
      throw new CapacityUnavailableError(
        `EC2 RunInstances in ${request.location} returned no instance`,
        {
          location: request.location,
          capacityType: request.capacityType,
        },
      );
    }
    this.#regionByInstance.set(launched.InstanceId, region.region);
    return this.#toInstance(launched, region.region, tags);
  }

  async list(request: ListRequest, context: CallContext = {}): Promise<readonly Instance[]> {
    this.#assertOpen();
    throwIfAborted(context.abortSignal);
    const filters: Filter[] = Object.entries(request.tags).map(([key, value]) => ({
      Name: `tag:${key}`,
      Values: [value],
    }));
    const perRegion = await Promise.all(
      this.#settings.regions.map((region) => this.#describe(region, filters, context.abortSignal)),
    );
    return perRegion.flat().filter((instance) => hasTags(instance.tags, request.tags));
  }

  async terminate(request: TerminateRequest, context: CallContext = {}): Promise<void> {
    this.#assertOpen();
    throwIfAborted(context.abortSignal);
    if (typeof request.instanceId !== 'string' || request.instanceId.length === 0) {
      throw new InvalidArgumentError(
        `Expected \`instanceId\` to be a non-empty string, got ${describeValue(request.instanceId)}`,
        { argument: 'instanceId', value: request.instanceId },
      );
    }
    if (Object.keys(request.tags).length === 0) {
      throw new InvalidArgumentError(
        'Expected `tags` to hold the ownership tags the instance must carry, got `{}` (object)',
        { argument: 'tags', value: request.tags },
      );
    }
    const filters: Filter[] = [{ Name: 'instance-id', Values: [request.instanceId] }];
    const known = this.#regionByInstance.get(request.instanceId);
    const regions = [...this.#settings.regions].sort(
      (left, right) => Number(right.region === known) - Number(left.region === known),
    );
    for (const region of regions) {
      const [found] = await this.#describe(region, filters, context.abortSignal);
      if (found === undefined) continue;
      if (!hasTags(found.tags, request.tags)) {
        throw new NotOwnedError(
          `Refusing to terminate ${request.instanceId}: it does not carry the ownership tags ${JSON.stringify(request.tags)}`,
          { instanceId: request.instanceId },
        );
      }
      // Preempted instances may still be stopped or shutting down: terminating them is safe.
      if (found.state === 'terminated') return;
      try {
        await this.#call(
          region,
          (client, abortSignal) =>
            client.send(new TerminateInstancesCommand({ InstanceIds: [request.instanceId] }), {
              abortSignal,
            }),
          {
            action: 'TerminateInstances',
            location: found.location,
            abortSignal: context.abortSignal,
          },
        );
      } catch (error) {
        if (
          ec2ErrorCode((error as SpotHedgeError).cause)?.startsWith('InvalidInstanceID.') === true
        )
          return;
        throw error;
      }
      return;
    }
  }

  /** Destroys the EC2 clients (their sockets). The provider rejects calls afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#lifetime.abort();
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new IllegalStateError(`The ${this.name} provider is closed`, { state: 'closed' });
    }
  }

  #checkLocation(location: string): { region: ResolvedAwsRegion; zone: string } {
    const parsed = typeof location === 'string' ? parseLocationId(location) : undefined;
    const region = parsed === undefined ? undefined : this.#regions.get(parsed.region);
    if (
      parsed === undefined ||
      parsed.cloud !== this.name ||
      region === undefined ||
      parsed.zone === undefined ||
      !region.zones.includes(parsed.zone)
    ) {
      throw new InvalidArgumentError(
        `Expected \`location\` to be one of this provider's locations (${this.#locations.map((entry) => entry.id).join(', ')}), got ${describeValue(location)}`,
        { argument: 'location', value: location },
      );
    }
    return { region, zone: parsed.zone };
  }

  #toInstance(
    instance: Ec2Instance,
    region: string,
    fallbackTags?: Readonly<Record<string, string>>,
  ): Instance {
    return instanceFromEc2(instance, {
      cloud: this.name,
      region,
      replicaPort: this.#settings.replicaPort,
      endpointAddress: this.#settings.endpointAddress,
      fallbackTags,
    });
  }

  async #describe(
    region: ResolvedAwsRegion,
    filters: Filter[],
    abortSignal: AbortSignal | undefined,
  ): Promise<Instance[]> {
    const instances: Instance[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.#call(
        region,
        (client, signal) =>
          client.send(
            new DescribeInstancesCommand({
              Filters: filters,
              MaxResults: this.#settings.pageSize,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            { abortSignal: signal },
          ),
        { action: 'DescribeInstances', abortSignal },
      );
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId === undefined) continue;
          if (instance.State?.Name === 'terminated') {
            this.#regionByInstance.delete(instance.InstanceId);
          } else {
            this.#regionByInstance.set(instance.InstanceId, region.region);
          }
          instances.push(this.#toInstance(instance, region.region));
        }
      }
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
    } while (nextToken !== undefined);
    return instances;
  }

  async #spotPricesFor(
    region: ResolvedAwsRegion,
    abortSignal: AbortSignal | undefined,
  ): Promise<SpotPriceCache> {
    const cached = this.#spotPrices.get(region.region);
    if (
      cached !== undefined &&
      this.#clock.now() - cached.fetchedAt < this.#settings.spotPriceRefreshMs
    ) {
      return cached;
    }
    // Concurrent callers share one refresh. It runs without any caller's signal (bounded by
    // request timeouts, retries and close()), so one caller aborting fails only itself.
    let refresh = this.#spotPriceRefreshes.get(region.region);
    if (refresh === undefined) {
      refresh = this.#fetchSpotPrices(region, this.#lifetime.signal).finally(() => {
        this.#spotPriceRefreshes.delete(region.region);
      });
      this.#spotPriceRefreshes.set(region.region, refresh);
    }
    return raceAbort(refresh, abortSignal);
  }

  async #fetchSpotPrices(
    region: ResolvedAwsRegion,
    abortSignal: AbortSignal | undefined,
  ): Promise<SpotPriceCache> {
    const prices = new Map<string, SpotPriceEntry>();
    // StartTime = now asks EC2 for the price in effect now (plus any newer), not 90 days.
    const startTime = new Date();
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.#call(
        region,
        (client, signal) =>
          client.send(
            new DescribeSpotPriceHistoryCommand({
              InstanceTypes: this.#settings.instanceTypes.map((type) => type as _InstanceType),
              ProductDescriptions: [this.#settings.productDescription],
              StartTime: startTime,
              MaxResults: this.#settings.pageSize,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            { abortSignal: signal },
          ),
        { action: 'DescribeSpotPriceHistory', abortSignal },
      );
      for (const entry of page.SpotPriceHistory ?? []) {
        const zone = entry.AvailabilityZone;
        const price = Number(entry.SpotPrice);
        if (zone === undefined || entry.InstanceType === undefined || !Number.isFinite(price))
          continue;
        if (!region.zones.includes(zone)) continue;
        const key = `${zone} ${entry.InstanceType}`;
        const asOf = entry.Timestamp?.getTime() ?? 0;
        const previous = prices.get(key);
        if (previous === undefined || asOf > previous.asOf) prices.set(key, { price, asOf });
      }
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
    } while (nextToken !== undefined);
    const cache = { fetchedAt: this.#clock.now(), prices };
    this.#spotPrices.set(region.region, cache);
    return cache;
  }

  #client(region: ResolvedAwsRegion): EC2Client {
    let client = this.#clients.get(region.region);
    if (client === undefined) {
      const credentials = this.#source.credentials;
      const config: EC2ClientConfig = {
        region: region.region,
        // One attempt: EC2 capacity errors are 5xx, which the SDK would otherwise retry
        // (and hide). The provider retries throttling and other 5xx itself.
        maxAttempts: 1,
        requestHandler: {
          requestTimeout: this.#settings.requestTimeoutMs,
          connectionTimeout: Math.min(this.#settings.requestTimeoutMs, 5_000),
          throwOnRequestTimeout: true,
        },
        ...(region.endpoint === undefined ? {} : { endpoint: region.endpoint }),
        ...(credentials === undefined ? {} : { credentials }),
      };
      client =
        this.#source.createClient?.({ region: region.region, config }) ?? new EC2Client(config);
      this.#clients.set(region.region, client);
    }
    return client;
  }

  /**
   * One EC2 call with the provider's own retry loop: throttling and retryable 5xx/network
   * failures back off (full jitter, on the injected clock, abortable); capacity, quota, auth
   * and config errors reject at once. Hand-written rather than p-retry so backoff runs on
   * the injected {@link Clock}.
   */
  async #call<T>(
    region: ResolvedAwsRegion,
    send: (client: EC2Client, abortSignal: AbortSignal | undefined) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.#settings.retry;
    for (let attempt = 1; ; attempt += 1) {
      this.#assertOpen();
      throwIfAborted(options.abortSignal);
      try {
        return await send(this.#client(region), options.abortSignal);
      } catch (error) {
        const mapped = mapEc2Error(error, options);
        if (!mapped.retryable || mapped.code === 'CAPACITY_UNAVAILABLE' || attempt >= maxAttempts) {
          throw mapped;
        }
        const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        await this.#clock.sleep(Math.round(Math.random() * backoff), options.abortSignal);
      }
    }
  }
}

/** Settles like `promise`, or rejects with `AbortedError` as soon as `signal` fires. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new AbortedError('The operation was aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Creates the AWS EC2 provider. Settings are validated at once (`InvalidConfigError`
 * naming the setting); no AWS call is made until the first provider call.
 *
 * @example
 * ```ts
 * const aws = createAwsProvider({
 *   regions: { 'us-east-1': { zones: ['us-east-1a', 'us-east-1b'] } },
 *   instanceType: 'g5.xlarge',
 *   imageId: 'ami-0123456789abcdef0',
 *   credentials: { accessKeyId, secretAccessKey },
 *   replicaPort: 8080,
 * });
 * ```
 */
export function createAwsProvider(settings: AwsProviderSettings): AwsProvider {
  return new AwsProvider(settings);
}
