import type { TokenCredential } from '@azure/core-auth';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { describeValue, InvalidConfigError, type CapacityType } from '@spothedge/core';

/** One Azure region to launch in, with the availability zones to use there. */
export interface AzureLocationSettings {
  /** ARM region name, e.g. `eastus`. */
  readonly region: string;
  /**
   * Availability zones to spread over, e.g. `['1', '2', '3']`. Each becomes one location
   * (`azure/eastus/1`). Omit (or pass `[]`) for a region without zones: the region itself
   * becomes the location (`azure/westus`).
   * @default []
   */
  readonly zones?: readonly string[] | undefined;
}

/** A marketplace image (publisher/offer/sku/version) or a managed/gallery image id. */
export type AzureImageReference =
  | {
      readonly publisher: string;
      readonly offer: string;
      readonly sku: string;
      /** @default 'latest' */
      readonly version?: string | undefined;
    }
  | { readonly id: string };

/** What {@link AzureProviderSettings.createClient} receives. */
export interface AzureClientFactoryOptions {
  readonly subscriptionId: string;
  /** ARM endpoint the client must talk to (from `armEndpoint`). */
  readonly endpoint: string;
  /** Pipeline retries the provider expects (the SDK's reconciler does its own retrying). */
  readonly maxRetries: number;
}

/** Hourly USD prices that replace the Retail Prices API for one region (or `*`). */
export type AzurePriceOverride = Partial<Record<CapacityType, number>>;

/** Where and how the provider reads prices. */
export interface AzurePriceSettings {
  /**
   * `fetch` used for the public Retail Prices API (no credentials are sent).
   * @default globalThis.fetch
   */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /**
   * Retail Prices API URL.
   * @default 'https://prices.azure.com/api/retail/prices'
   */
  readonly endpoint?: string | undefined;
  /**
   * How long fetched prices are reused, in ms.
   * @default 3_600_000 (one hour)
   */
  readonly cacheTtlMs?: number | undefined;
  /**
   * Fixed prices by region (`eastus`) or for every region (`*`); a capacity type given
   * here is never fetched.
   * @example { '*': { spot: 0.05, 'on-demand': 0.4 } }
   */
  readonly overrides?: Readonly<Record<string, AzurePriceOverride>> | undefined;
  /**
   * Skip the Retail Prices API and use only overrides and the built-in fallback table.
   * @default false
   */
  readonly offline?: boolean | undefined;
}

/**
 * Settings of {@link createAzureProvider}. Validated eagerly: a bad value throws
 * `InvalidConfigError` naming the setting and the value, before any call to Azure.
 */
export interface AzureProviderSettings {
  /** Subscription id (a GUID). */
  readonly subscriptionId: string;
  /** Resource group the VMs (and their inline NICs and OS disks) live in. It must exist. */
  readonly resourceGroup: string;
  /** Regions and zones to launch in. At least one. */
  readonly locations: readonly AzureLocationSettings[];
  /** VM size, e.g. `Standard_NC4as_T4_v3`. */
  readonly vmSize: string;
  /** OS image (Linux). */
  readonly image: AzureImageReference;
  /**
   * Full resource id of the subnet every NIC joins:
   * `/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…`.
   * The subnet must be in the same region as the VMs: with several regions, use
   * `subnetIds` keyed by region instead (or in addition; `subnetIds` wins).
   */
  readonly subnetId?: string | undefined;
  /** Subnet id per region, e.g. `{ eastus: '/subscriptions/…', westus2: '/subscriptions/…' }`. */
  readonly subnetIds?: Readonly<Record<string, string>> | undefined;
  /**
   * Linux admin user.
   * @default 'spothedge'
   */
  readonly adminUsername?: string | undefined;
  /** OpenSSH public key of the admin user (password login stays disabled). */
  readonly sshPublicKey: string;
  /** Extra tags put on every VM (ownership tags are added by the SDK). */
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /**
   * Startup script (cloud-init or a shell script) used when a launch request carries
   * none. Sent base64-encoded as `osProfile.customData`.
   */
  readonly startupScript?: string | undefined;
  /**
   * Credential for ARM (e.g. `DefaultAzureCredential` from `@azure/identity`, which this
   * package does not depend on). Give either `credential` or `createClient`.
   */
  readonly credential?: TokenCredential | undefined;
  /** Builds the `ComputeManagementClient` yourself (custom pipeline, proxy, tests). */
  readonly createClient?:
    ((options: AzureClientFactoryOptions) => ComputeManagementClient) | undefined;
  /**
   * ARM endpoint (sovereign clouds, or a local fake in tests).
   * @default 'https://management.azure.com'
   */
  readonly armEndpoint?: string | undefined;
  /**
   * Interval between polls of long-running operations (create, delete), in ms.
   * @default 2000
   */
  readonly pollIntervalMs?: number | undefined;
  /**
   * Retries of the Azure pipeline itself. 0 lets throttling and 5xx errors reach the
   * SDK's reconciler, which backs off with its own policy.
   * @default 0
   */
  readonly maxRetries?: number | undefined;
  /**
   * Port for each instance's `endpoint` (`http://<private IP>:<port>`). By default the port
   * the service launched it with (the spec's `port`, kept in the VM's `spothedge-port` tag);
   * set this only when replicas are reached on another port (a port mapping).
   * @default the VM's `spothedge-port` tag
   */
  readonly replicaPort?: number | undefined;
  /**
   * Prefix of VM names (the rest is derived from the idempotency key).
   * @default 'spothedge'
   */
  readonly namePrefix?: string | undefined;
  /**
   * What Azure does to an evicted Spot VM. `Delete` (default) leaves nothing billable;
   * `Deallocate` keeps the disk and the VM shows as preempted until terminated.
   * @default 'Delete'
   */
  readonly evictionPolicy?: 'Delete' | 'Deallocate' | undefined;
  /**
   * Spot max price in USD per hour; -1 means "up to the on-demand price" (evicted only
   * for capacity).
   * @default -1
   */
  readonly spotMaxPrice?: number | undefined;
  /**
   * OS disk storage type.
   * @default 'StandardSSD_LRS'
   */
  readonly osDiskType?: string | undefined;
  /** OS disk size in GiB. Defaults to the image's size. */
  readonly osDiskSizeGb?: number | undefined;
  /** Prices: Retail Prices API, cache, overrides. */
  readonly prices?: AzurePriceSettings | undefined;
}

/** Settings after validation, with defaults applied. */
export interface ResolvedAzureSettings {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly locations: readonly { readonly region: string; readonly zones: readonly string[] }[];
  readonly vmSize: string;
  readonly image: AzureImageReference;
  readonly subnetIdFor: (region: string) => string;
  readonly adminUsername: string;
  readonly sshPublicKey: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly startupScript: string | undefined;
  readonly credential: TokenCredential | undefined;
  readonly createClient:
    ((options: AzureClientFactoryOptions) => ComputeManagementClient) | undefined;
  readonly armEndpoint: string;
  readonly pollIntervalMs: number;
  readonly maxRetries: number;
  readonly replicaPort: number | undefined;
  readonly namePrefix: string;
  readonly evictionPolicy: 'Delete' | 'Deallocate';
  readonly spotMaxPrice: number;
  readonly osDiskType: string;
  readonly osDiskSizeGb: number | undefined;
  readonly prices: {
    readonly fetch: typeof globalThis.fetch | undefined;
    readonly endpoint: string;
    readonly cacheTtlMs: number;
    readonly overrides: Readonly<Record<string, AzurePriceOverride>>;
    readonly offline: boolean;
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/;
const REGION = /^[a-z][a-z0-9]*$/;
const ZONE = /^[1-9]$/;
const SUBNET_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i;
const ADMIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
// Azure rejects these admin names for Linux VMs.
const RESERVED_ADMIN_USERS = new Set([
  'admin',
  'administrator',
  'root',
  'guest',
  'user',
  'test',
  'sys',
  'adm',
  'support',
  'console',
]);
const SSH_KEY =
  /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+/;
const NAME_PREFIX = /^[a-z][a-z0-9-]{0,19}$/;
const FORBIDDEN_TAG_KEY_CHARS = /[<>%&\\?/]/;
/** Azure allows at most 50 tags per resource; the SDK adds up to 4 ownership tags. */
export const MAX_USER_TAGS = 46;
/** Largest `customData` Azure accepts, in bytes before base64. */
export const MAX_CUSTOM_DATA_BYTES = 65_535;

function invalid(setting: string, value: unknown, expected: string): InvalidConfigError {
  return new InvalidConfigError(
    `Expected \`${setting}\` to be ${expected}, got ${describeValue(value)}`,
    { setting, value },
  );
}

function requireString(setting: string, value: unknown, pattern: RegExp, expected: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw invalid(setting, value, expected);
  return value;
}

function optionalInteger(
  setting: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(setting, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function validateTags(setting: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(setting, value, 'an object of string tags');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_USER_TAGS) {
    throw invalid(setting, value, `at most ${MAX_USER_TAGS} tags`);
  }
  for (const [key, tagValue] of entries) {
    if (key.length === 0 || key.length > 512 || FORBIDDEN_TAG_KEY_CHARS.test(key)) {
      throw invalid(`${setting}.${key}`, key, 'a tag name of 1-512 characters without <>%&\\?/');
    }
    if (typeof tagValue !== 'string' || tagValue.length > 256) {
      throw invalid(`${setting}.${key}`, tagValue, 'a string of at most 256 characters');
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function validateImage(value: unknown): AzureImageReference {
  if (typeof value !== 'object' || value === null) {
    throw invalid('image', value, 'an image reference ({ publisher, offer, sku } or { id })');
  }
  const image = value as Record<string, unknown>;
  if ('id' in image) {
    requireString('image.id', image['id'], /^\/subscriptions\/.+/i, 'an image resource id');
    return { id: image['id'] as string };
  }
  for (const part of ['publisher', 'offer', 'sku'] as const) {
    requireString(`image.${part}`, image[part], /^\S+$/, 'a non-empty string');
  }
  if (image['version'] !== undefined) {
    requireString('image.version', image['version'], /^\S+$/, 'a non-empty string');
  }
  return {
    publisher: image['publisher'] as string,
    offer: image['offer'] as string,
    sku: image['sku'] as string,
    version: (image['version'] as string | undefined) ?? 'latest',
  };
}

function validatePrices(value: unknown): ResolvedAzureSettings['prices'] {
  const prices = (value ?? {}) as AzurePriceSettings;
  if (typeof prices !== 'object' || prices === null) {
    throw invalid('prices', value, 'an object');
  }
  if (prices.fetch !== undefined && typeof prices.fetch !== 'function') {
    throw invalid('prices.fetch', prices.fetch, 'a fetch function');
  }
  const endpoint = prices.endpoint ?? 'https://prices.azure.com/api/retail/prices';
  validateUrl('prices.endpoint', endpoint);
  const overrides = prices.overrides ?? {};
  for (const [region, override] of Object.entries(overrides)) {
    if (region !== '*' && !REGION.test(region)) {
      throw invalid(`prices.overrides.${region}`, region, 'a region name or `*`');
    }
    for (const [capacityType, price] of Object.entries(override ?? {})) {
      if (capacityType !== 'spot' && capacityType !== 'on-demand') {
        throw invalid(
          `prices.overrides.${region}.${capacityType}`,
          capacityType,
          '`spot` or `on-demand`',
        );
      }
      if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
        throw invalid(
          `prices.overrides.${region}.${capacityType}`,
          price,
          'a price >= 0 (USD per hour)',
        );
      }
    }
  }
  return {
    fetch: prices.fetch,
    endpoint,
    cacheTtlMs: optionalInteger(
      'prices.cacheTtlMs',
      prices.cacheTtlMs,
      3_600_000,
      0,
      7 * 86_400_000,
    ),
    overrides,
    offline: prices.offline ?? false,
  };
}

function validateUrl(setting: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(setting, value, 'an http(s) URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(setting, value, 'an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(setting, value, 'an http(s) URL');
  }
  return value.replace(/\/+$/, '');
}

/** Validates settings and applies defaults. Throws `InvalidConfigError`. */
export function resolveAzureSettings(settings: AzureProviderSettings): ResolvedAzureSettings {
  if (typeof settings !== 'object' || settings === null) {
    throw invalid('settings', settings, 'an object');
  }
  const subscriptionId = requireString(
    'subscriptionId',
    settings.subscriptionId,
    GUID,
    'a subscription GUID',
  );
  const resourceGroup = requireString(
    'resourceGroup',
    settings.resourceGroup,
    RESOURCE_GROUP,
    'a resource group name (1-90 letters, digits, `-_.()`)',
  );
  if (resourceGroup.endsWith('.')) {
    throw invalid('resourceGroup', resourceGroup, 'a name that does not end with `.`');
  }

  if (!Array.isArray(settings.locations) || settings.locations.length === 0) {
    throw invalid('locations', settings.locations, 'a non-empty array of { region, zones }');
  }
  const seenRegions = new Set<string>();
  const locations = settings.locations.map((location: AzureLocationSettings, index: number) => {
    const region = requireString(
      `locations[${index}].region`,
      location?.region,
      REGION,
      'an ARM region name such as `eastus`',
    );
    if (seenRegions.has(region))
      throw invalid(`locations[${index}].region`, region, 'a region listed once');
    seenRegions.add(region);
    const zones = location.zones ?? [];
    if (!Array.isArray(zones))
      throw invalid(
        `locations[${index}].zones`,
        zones,
        'an array of zone numbers such as `["1","2"]`',
      );
    zones.forEach((zone: unknown, zoneIndex: number) =>
      requireString(
        `locations[${index}].zones[${zoneIndex}]`,
        zone,
        ZONE,
        'a zone number such as `"1"`',
      ),
    );
    if (new Set(zones).size !== zones.length) {
      throw invalid(`locations[${index}].zones`, zones, 'zones listed once each');
    }
    return { region, zones: [...zones] };
  });

  const vmSize = requireString(
    'vmSize',
    settings.vmSize,
    /^[A-Za-z][\w-]*$/,
    'a VM size such as `Standard_D2s_v5`',
  );
  const image = validateImage(settings.image);

  const subnetIds: Record<string, string> = {};
  if (settings.subnetIds !== undefined) {
    if (typeof settings.subnetIds !== 'object' || settings.subnetIds === null) {
      throw invalid('subnetIds', settings.subnetIds, 'an object of subnet ids by region');
    }
    for (const [region, id] of Object.entries(settings.subnetIds)) {
      subnetIds[region] = requireString(
        `subnetIds.${region}`,
        id,
        SUBNET_ID,
        'a subnet resource id',
      );
    }
  }
  const defaultSubnet =
    settings.subnetId === undefined
      ? undefined
      : requireString(
          'subnetId',
          settings.subnetId,
          SUBNET_ID,
          'a subnet resource id (…/virtualNetworks/NAME/subnets/NAME)',
        );
  for (const { region } of locations) {
    if (subnetIds[region] === undefined && defaultSubnet === undefined) {
      throw invalid(
        'subnetId',
        settings.subnetId,
        `a subnet resource id (none given for region \`${region}\`)`,
      );
    }
  }

  const adminUsername = requireString(
    'adminUsername',
    settings.adminUsername ?? 'spothedge',
    ADMIN_USER,
    'a Linux user name (lowercase, 1-32 characters)',
  );
  if (RESERVED_ADMIN_USERS.has(adminUsername)) {
    throw invalid('adminUsername', adminUsername, 'a user name Azure allows (not a reserved name)');
  }
  const sshPublicKey = requireString(
    'sshPublicKey',
    settings.sshPublicKey,
    SSH_KEY,
    'an OpenSSH public key (`ssh-ed25519 AAAA…`)',
  );

  if (settings.startupScript !== undefined) {
    if (typeof settings.startupScript !== 'string') {
      throw invalid('startupScript', settings.startupScript, 'a string');
    }
    if (Buffer.byteLength(settings.startupScript) > MAX_CUSTOM_DATA_BYTES) {
      throw invalid(
        'startupScript',
        settings.startupScript,
        `at most ${MAX_CUSTOM_DATA_BYTES} bytes`,
      );
    }
  }

  if ((settings.credential === undefined) === (settings.createClient === undefined)) {
    throw invalid(
      'credential',
      settings.credential,
      'given (a TokenCredential) unless `createClient` is, and not both',
    );
  }
  if (settings.credential !== undefined && typeof settings.credential.getToken !== 'function') {
    throw invalid('credential', settings.credential, 'a TokenCredential (with getToken)');
  }
  if (settings.createClient !== undefined && typeof settings.createClient !== 'function') {
    throw invalid('createClient', settings.createClient, 'a function');
  }

  const evictionPolicy = settings.evictionPolicy ?? 'Delete';
  if (evictionPolicy !== 'Delete' && evictionPolicy !== 'Deallocate') {
    throw invalid('evictionPolicy', evictionPolicy, '`Delete` or `Deallocate`');
  }
  const spotMaxPrice = settings.spotMaxPrice ?? -1;
  if (
    typeof spotMaxPrice !== 'number' ||
    !(spotMaxPrice === -1 || (Number.isFinite(spotMaxPrice) && spotMaxPrice > 0))
  ) {
    throw invalid('spotMaxPrice', spotMaxPrice, '-1 or a price > 0 (USD per hour)');
  }

  return {
    subscriptionId,
    resourceGroup,
    locations,
    vmSize,
    image,
    subnetIdFor: (region) => (subnetIds[region] ?? defaultSubnet) as string,
    adminUsername,
    sshPublicKey,
    tags: validateTags('tags', settings.tags),
    startupScript: settings.startupScript,
    credential: settings.credential,
    createClient: settings.createClient,
    armEndpoint: validateUrl('armEndpoint', settings.armEndpoint ?? 'https://management.azure.com'),
    pollIntervalMs: optionalInteger('pollIntervalMs', settings.pollIntervalMs, 2000, 1, 600_000),
    maxRetries: optionalInteger('maxRetries', settings.maxRetries, 0, 0, 10),
    replicaPort:
      settings.replicaPort === undefined
        ? undefined
        : optionalInteger('replicaPort', settings.replicaPort, 0, 1, 65_535),
    namePrefix: requireString(
      'namePrefix',
      settings.namePrefix ?? 'spothedge',
      NAME_PREFIX,
      'a lowercase name prefix (1-20 of a-z, 0-9, -)',
    ),
    evictionPolicy,
    spotMaxPrice,
    osDiskType: requireString(
      'osDiskType',
      settings.osDiskType ?? 'StandardSSD_LRS',
      /^\w+$/,
      'a disk storage type such as `Premium_LRS`',
    ),
    osDiskSizeGb:
      settings.osDiskSizeGb === undefined
        ? undefined
        : optionalInteger('osDiskSizeGb', settings.osDiskSizeGb, 30, 1, 32_767),
    prices: validatePrices(settings.prices),
  };
}
