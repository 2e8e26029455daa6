import { InvalidConfigError, OwnershipTag, describeValue } from '@spothedge/core';
import type { Clock } from '@spothedge/core';
import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { OnDemandPriceTable } from './on-demand-prices.js';

/** One region the provider launches in. */
export interface AwsRegionSettings {
  /** Availability zones to launch in, e.g. `['us-east-1a', 'us-east-1b']`. At least one. */
  readonly zones: readonly string[];
  /**
   * Subnet per zone (`{ 'us-east-1a': 'subnet-0abc' }`). Zones without one use the default
   * subnet of the default VPC.
   */
  readonly subnets?: Readonly<Record<string, string>> | undefined;
  /** AMI for this region (AMI ids are regional). @default AwsProviderSettings.imageId */
  readonly imageId?: string | undefined;
  /** Security groups for this region. @default AwsProviderSettings.securityGroupIds */
  readonly securityGroupIds?: readonly string[] | undefined;
  /** Endpoint URL for this region's client (VPC endpoint, local fake). @default AwsProviderSettings.endpoint */
  readonly endpoint?: string | undefined;
}

/** Static credentials, or a function that resolves them (what `EC2Client` accepts). */
export type AwsCredentials = NonNullable<EC2ClientConfig['credentials']>;

/** What {@link AwsProviderSettings.createClient} receives. */
export interface AwsClientFactoryOptions {
  readonly region: string;
  /**
   * The configuration the provider would use: region, endpoint, credentials (when given),
   * request timeouts and `maxAttempts: 1`. Spread it into your `EC2Client` config so capacity errors are not
   * retried (and hidden) by the SDK.
   */
  readonly config: EC2ClientConfig;
}

/** How the provider retries throttled and 5xx calls (never capacity errors). */
export interface AwsRetrySettings {
  /** Attempts per call, including the first. @default 3 */
  readonly maxAttempts?: number | undefined;
  /** First backoff delay; doubles each attempt, with full jitter. @default 250 */
  readonly baseDelayMs?: number | undefined;
  /** Largest backoff delay. @default 5000 */
  readonly maxDelayMs?: number | undefined;
}

/**
 * Settings of {@link createAwsProvider}. Validated eagerly: a wrong value throws
 * `InvalidConfigError` naming the setting and the value, before any call to AWS.
 *
 * Credentials: pass `credentials` or `createClient`. The AWS default credential chain
 * (environment, shared files, instance metadata) is used only with
 * `useDefaultCredentialChain: true`.
 */
export interface AwsProviderSettings {
  /** Regions and their zones; one EC2 client per region. */
  readonly regions: Readonly<Record<string, AwsRegionSettings>>;
  /**
   * Instance type, or the instance types a launch may ask for (offerings are listed for
   * each).
   * @example 'g5.xlarge'
   */
  readonly instanceType: string | readonly string[];
  /** AMI to launch, unless a region sets its own. Required for every region without one. */
  readonly imageId?: string | undefined;
  /** Security group ids, unless a region sets its own. @default [] (the VPC default group) */
  readonly securityGroupIds?: readonly string[] | undefined;
  /** IAM instance profile name or ARN. Needs `iam:PassRole` on its role. */
  readonly iamInstanceProfile?: string | undefined;
  /** EC2 key pair name for SSH. */
  readonly keyName?: string | undefined;
  /** Extra tags on every instance and volume. Keys must not start with `aws:` or `spothedge-`. */
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /** Startup script used when a launch request carries none (sent base64 as user data). */
  readonly startupScript?: string | undefined;
  /** Static credentials or a credentials provider function. */
  readonly credentials?: AwsCredentials | undefined;
  /**
   * Let the AWS SDK find credentials itself (environment, shared config, SSO, instance
   * metadata). Off unless the host asks for it.
   * @default false
   */
  readonly useDefaultCredentialChain?: boolean | undefined;
  /** Builds the EC2 client of a region; for custom endpoints, proxies and tests. */
  readonly createClient?: ((options: AwsClientFactoryOptions) => EC2Client) | undefined;
  /** Endpoint URL for every region's client (e.g. a local fake). */
  readonly endpoint?: string | undefined;
  /**
   * Port for each instance's `endpoint` (`http://<address>:<port>`). By default the port the
   * service launched it with (the spec's `port`, kept in the instance's `spothedge-port`
   * tag); set this only when replicas are reached on another port (a port mapping).
   * @default the instance's `spothedge-port` tag
   */
  readonly replicaPort?: number | undefined;
  /** Which address to build the replica endpoint from. @default 'private' */
  readonly endpointAddress?: 'private' | 'public' | undefined;
  /** On-demand price overrides and additions to {@link DEFAULT_ON_DEMAND_PRICES}. */
  readonly onDemandPrices?: OnDemandPriceTable | undefined;
  /** How long spot prices are cached. @default 300000 (5 minutes) */
  readonly spotPriceRefreshMs?: number | undefined;
  /** Product description for spot prices. @default 'Linux/UNIX' */
  readonly productDescription?: string | undefined;
  /** Highest spot price to pay per hour (USD, as a string). @default the on-demand price (AWS default) */
  readonly maxSpotPrice?: string | undefined;
  /** Page size for `DescribeInstances` and `DescribeSpotPriceHistory` (5–1000). @default 1000 */
  readonly pageSize?: number | undefined;
  /**
   * Socket timeout of one EC2 request; a request that hangs longer fails with a retryable
   * `ProviderError` (and is retried like a 5xx).
   * @default 30000
   */
  readonly requestTimeoutMs?: number | undefined;
  /** Retries of throttled and 5xx calls. Capacity errors are never retried. */
  readonly retry?: AwsRetrySettings | undefined;
  /** Clock for price caching and backoff. @default new SystemClock() */
  readonly clock?: Clock | undefined;
  /** Provider name, the cloud part of location ids. @default 'aws' */
  readonly name?: string | undefined;
}

/** Settings after validation, with defaults filled in. */
export interface ResolvedAwsRegion {
  readonly region: string;
  readonly zones: readonly string[];
  readonly subnets: Readonly<Record<string, string>>;
  readonly imageId: string;
  readonly securityGroupIds: readonly string[];
  readonly endpoint: string | undefined;
}

export interface ResolvedAwsProviderSettings {
  readonly name: string;
  readonly regions: readonly ResolvedAwsRegion[];
  readonly instanceTypes: readonly string[];
  readonly iamInstanceProfile: string | undefined;
  readonly keyName: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly startupScript: string | undefined;
  readonly replicaPort: number | undefined;
  readonly endpointAddress: 'private' | 'public';
  readonly spotPriceRefreshMs: number;
  readonly productDescription: string;
  readonly maxSpotPrice: string | undefined;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
  readonly retry: Required<{ [K in keyof AwsRetrySettings]: number }>;
}

/** Largest user data EC2 accepts, before base64 encoding. */
export const MAX_USER_DATA_BYTES = 16 * 1024;

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;

function invalid(setting: string, value: unknown, expected: string): InvalidConfigError {
  return new InvalidConfigError(
    `Expected \`${setting}\` to be ${expected}, got ${describeValue(value)}`,
    { setting, value },
  );
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function checkOptionalString(setting: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isNonEmptyString(value)) throw invalid(setting, value, 'a non-empty string');
  return value;
}

function checkStringList(setting: string, value: unknown, prefix?: string): readonly string[] {
  if (!Array.isArray(value)) throw invalid(setting, value, 'an array of strings');
  value.forEach((item: unknown, index) => {
    if (!isNonEmptyString(item) || (prefix !== undefined && !item.startsWith(prefix))) {
      throw invalid(
        `${setting}[${index}]`,
        item,
        prefix === undefined ? 'a non-empty string' : `an id starting with \`${prefix}\``,
      );
    }
  });
  return value as readonly string[];
}

function checkPositiveInteger(
  setting: string,
  value: unknown,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(setting, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates `settings` eagerly; throws `InvalidConfigError` naming the first bad setting. */
export function resolveAwsProviderSettings(
  settings: AwsProviderSettings,
): ResolvedAwsProviderSettings {
  if (!isRecord(settings)) throw invalid('settings', settings, 'an object');
  const name = settings.name ?? 'aws';
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw invalid('name', name, 'a lowercase name matching /^[a-z][a-z0-9-]*$/');
  }

  const instanceTypes =
    typeof settings.instanceType === 'string'
      ? [settings.instanceType]
      : checkStringList('instanceType', settings.instanceType);
  if (instanceTypes.length === 0 || !instanceTypes.every(isNonEmptyString)) {
    throw invalid(
      'instanceType',
      settings.instanceType,
      'an instance type such as `g5.xlarge`, or a non-empty list of them',
    );
  }

  const imageId = checkOptionalString('imageId', settings.imageId);
  if (imageId !== undefined && !imageId.startsWith('ami-')) {
    throw invalid('imageId', imageId, 'an AMI id starting with `ami-`');
  }
  const securityGroupIds =
    settings.securityGroupIds === undefined
      ? []
      : checkStringList('securityGroupIds', settings.securityGroupIds, 'sg-');
  const endpoint = checkEndpoint('endpoint', settings.endpoint);

  if (!isRecord(settings.regions) || Object.keys(settings.regions).length === 0) {
    throw invalid(
      'regions',
      settings.regions,
      'an object with at least one region, e.g. `{ "us-east-1": { zones: ["us-east-1a"] } }`',
    );
  }
  const seenZones = new Set<string>();
  const regions = Object.entries(settings.regions).map(
    ([region, regionSettings]): ResolvedAwsRegion => {
      const path = `regions.${region}`;
      if (!REGION_PATTERN.test(region))
        throw invalid('regions', region, 'keyed by AWS region names such as `us-east-1`');
      if (!isRecord(regionSettings)) throw invalid(path, regionSettings, 'an object with `zones`');
      const zones = checkStringList(`${path}.zones`, regionSettings.zones);
      if (zones.length === 0)
        throw invalid(`${path}.zones`, zones, 'a non-empty array of availability zones');
      zones.forEach((zone, index) => {
        if (!zone.startsWith(region)) {
          throw invalid(
            `${path}.zones[${index}]`,
            zone,
            `an availability zone of \`${region}\` (e.g. \`${region}a\`)`,
          );
        }
        if (seenZones.has(zone)) throw invalid(`${path}.zones[${index}]`, zone, 'listed once');
        seenZones.add(zone);
      });
      const subnets: Record<string, string> = {};
      if (regionSettings.subnets !== undefined) {
        if (!isRecord(regionSettings.subnets))
          throw invalid(
            `${path}.subnets`,
            regionSettings.subnets,
            'an object mapping zone to subnet id',
          );
        for (const [zone, subnet] of Object.entries(regionSettings.subnets)) {
          if (!zones.includes(zone))
            throw invalid(`${path}.subnets`, zone, `keyed by a zone listed in \`${path}.zones\``);
          if (!isNonEmptyString(subnet) || !subnet.startsWith('subnet-')) {
            throw invalid(`${path}.subnets.${zone}`, subnet, 'a subnet id starting with `subnet-`');
          }
          subnets[zone] = subnet;
        }
      }
      const regionImage = checkOptionalString(`${path}.imageId`, regionSettings.imageId) ?? imageId;
      if (regionImage === undefined) {
        throw invalid('imageId', settings.imageId, `an AMI id (or set \`${path}.imageId\`)`);
      }
      if (!regionImage.startsWith('ami-'))
        throw invalid(`${path}.imageId`, regionImage, 'an AMI id starting with `ami-`');
      const regionGroups =
        regionSettings.securityGroupIds === undefined
          ? securityGroupIds
          : checkStringList(`${path}.securityGroupIds`, regionSettings.securityGroupIds, 'sg-');
      return {
        region,
        zones,
        subnets,
        imageId: regionImage,
        securityGroupIds: regionGroups,
        endpoint: checkEndpoint(`${path}.endpoint`, regionSettings.endpoint) ?? endpoint,
      };
    },
  );

  const hasCredentials = settings.credentials !== undefined && settings.credentials !== null;
  if (hasCredentials && typeof settings.credentials !== 'function') {
    const credentials = settings.credentials as unknown;
    if (
      !isRecord(credentials) ||
      !isNonEmptyString(credentials['accessKeyId']) ||
      !isNonEmptyString(credentials['secretAccessKey'])
    ) {
      throw invalid(
        'credentials',
        '(redacted)',
        'an object with `accessKeyId` and `secretAccessKey`, or a function returning one',
      );
    }
  }
  if (settings.createClient !== undefined && typeof settings.createClient !== 'function') {
    throw invalid('createClient', settings.createClient, 'a function');
  }
  if (
    settings.useDefaultCredentialChain !== undefined &&
    typeof settings.useDefaultCredentialChain !== 'boolean'
  ) {
    throw invalid('useDefaultCredentialChain', settings.useDefaultCredentialChain, 'a boolean');
  }
  if (
    !hasCredentials &&
    settings.createClient === undefined &&
    settings.useDefaultCredentialChain !== true
  ) {
    throw invalid(
      'credentials',
      settings.credentials,
      'static credentials or a credentials function (or pass `createClient`, or `useDefaultCredentialChain: true` to let the AWS SDK find them)',
    );
  }

  const tags: Record<string, string> = {};
  if (settings.tags !== undefined) {
    if (!isRecord(settings.tags)) throw invalid('tags', settings.tags, 'an object of string tags');
    for (const [key, value] of Object.entries(settings.tags)) {
      if (key.length === 0 || key.length > 128 || key.toLowerCase().startsWith('aws:')) {
        throw invalid('tags', key, 'tag keys of 1–128 characters not starting with `aws:`');
      }
      if (key.startsWith('spothedge-') || Object.values(OwnershipTag).includes(key as never)) {
        throw invalid(
          'tags',
          key,
          'tag keys not starting with `spothedge-` (reserved for ownership tags)',
        );
      }
      if (typeof value !== 'string' || value.length > 256) {
        throw invalid(`tags.${key}`, value, 'a string of at most 256 characters');
      }
      tags[key] = value;
    }
  }

  const startupScript = settings.startupScript;
  if (startupScript !== undefined) {
    if (typeof startupScript !== 'string')
      throw invalid('startupScript', startupScript, 'a string');
    if (Buffer.byteLength(startupScript) > MAX_USER_DATA_BYTES) {
      throw invalid(
        'startupScript',
        startupScript,
        `at most ${MAX_USER_DATA_BYTES} bytes (EC2 user data limit)`,
      );
    }
  }

  const replicaPort =
    settings.replicaPort === undefined
      ? undefined
      : checkPositiveInteger('replicaPort', settings.replicaPort, 1, 65_535);
  const endpointAddress = settings.endpointAddress ?? 'private';
  if (endpointAddress !== 'private' && endpointAddress !== 'public') {
    throw invalid('endpointAddress', endpointAddress, "`'private'` or `'public'`");
  }

  if (settings.onDemandPrices !== undefined) {
    if (!isRecord(settings.onDemandPrices))
      throw invalid('onDemandPrices', settings.onDemandPrices, 'an object of prices');
    for (const [type, price] of Object.entries(settings.onDemandPrices)) {
      const entries: [string, unknown][] = isRecord(price)
        ? Object.entries(price).map(([region, value]) => [
            `onDemandPrices.${type}.${region}`,
            value,
          ])
        : [[`onDemandPrices.${type}`, price]];
      for (const [setting, value] of entries) {
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
          throw invalid(setting, value, 'a positive price in USD per hour');
        }
      }
    }
  }

  const spotPriceRefreshMs =
    settings.spotPriceRefreshMs === undefined
      ? 300_000
      : checkPositiveInteger('spotPriceRefreshMs', settings.spotPriceRefreshMs, 0);
  const productDescription =
    checkOptionalString('productDescription', settings.productDescription) ?? 'Linux/UNIX';
  const maxSpotPrice = checkOptionalString('maxSpotPrice', settings.maxSpotPrice);
  if (maxSpotPrice !== undefined && !(Number(maxSpotPrice) > 0)) {
    throw invalid('maxSpotPrice', maxSpotPrice, 'a positive decimal string such as `"0.50"`');
  }
  const pageSize =
    settings.pageSize === undefined
      ? 1000
      : checkPositiveInteger('pageSize', settings.pageSize, 5, 1000);

  const requestTimeoutMs =
    settings.requestTimeoutMs === undefined
      ? 30_000
      : checkPositiveInteger('requestTimeoutMs', settings.requestTimeoutMs, 1);

  const retrySettings = settings.retry ?? {};
  if (!isRecord(retrySettings)) throw invalid('retry', retrySettings, 'an object');
  const retry = {
    maxAttempts:
      retrySettings.maxAttempts === undefined
        ? 3
        : checkPositiveInteger('retry.maxAttempts', retrySettings.maxAttempts, 1, 20),
    baseDelayMs:
      retrySettings.baseDelayMs === undefined
        ? 250
        : checkPositiveInteger('retry.baseDelayMs', retrySettings.baseDelayMs, 0),
    maxDelayMs:
      retrySettings.maxDelayMs === undefined
        ? 5_000
        : checkPositiveInteger('retry.maxDelayMs', retrySettings.maxDelayMs, 0),
  };

  return {
    name,
    regions,
    instanceTypes,
    iamInstanceProfile: checkOptionalString('iamInstanceProfile', settings.iamInstanceProfile),
    keyName: checkOptionalString('keyName', settings.keyName),
    tags,
    startupScript,
    replicaPort,
    endpointAddress,
    spotPriceRefreshMs,
    productDescription,
    maxSpotPrice,
    pageSize,
    requestTimeoutMs,
    retry,
  };
}

function checkEndpoint(setting: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(setting, value, 'an http(s) URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(setting, value, 'an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid(setting, value, 'an http(s) URL');
  return value;
}
