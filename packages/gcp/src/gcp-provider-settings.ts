import { describeValue, InvalidConfigError } from '@spothedge/core';
import type { CapacityType } from '@spothedge/core';
import type { GcpClients } from './gcp-clients.js';
import { parseMachineShape, type MachineShape } from './machine-shape.js';
import type { GcpAuthClient } from './static-auth-client.js';
import { isValidResourceName } from './instance-naming.js';

/** A GPU attached to each instance. */
export interface GcpAccelerator {
  /** Accelerator type, e.g. `nvidia-tesla-t4`. */
  readonly type: string;
  /** GPUs per instance. */
  readonly count: number;
}

/** Hourly prices (USD) that replace catalog and table prices. */
export type GcpPriceOverride = Partial<Readonly<Record<CapacityType, number>>>;

export interface GcpPricingSettings {
  /**
   * Where prices come from: the Cloud Billing Catalog API (falling back to the built-in
   * table when it cannot be read), or the built-in table only.
   * @default 'catalog'
   */
  readonly source?: 'catalog' | 'table' | undefined;
  /** The `fetch` used for the Cloud Billing Catalog API. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** Base URL of the Cloud Billing API. @default 'https://cloudbilling.googleapis.com' */
  readonly catalogEndpoint?: string | undefined;
  /** API key for the catalog (sent as `key=`); otherwise the auth client's headers are sent. */
  readonly apiKey?: string | undefined;
  /** How long catalog prices are reused. @default 21_600_000 (6 h) */
  readonly cacheTtlMs?: number | undefined;
  /**
   * Fixed prices that win over everything else, keyed by machine type (`n2-standard-8`) or
   * by region and machine type (`us-central1/n2-standard-8`, more specific wins).
   */
  readonly overrides?: Readonly<Record<string, GcpPriceOverride>> | undefined;
  /** vCPUs and memory of the machine type, when its name does not tell (custom types). */
  readonly machineShape?: MachineShape | undefined;
}

export interface GcpServiceAccount {
  /** Service account e-mail attached to the instances. */
  readonly email: string;
  /** OAuth scopes. @default ['https://www.googleapis.com/auth/cloud-platform'] */
  readonly scopes?: readonly string[] | undefined;
}

/**
 * Settings of {@link createGcpProvider}. Validated when the provider is created: a bad
 * value throws `InvalidConfigError` naming the setting and the value.
 */
export interface GcpProviderSettings {
  /** Project id, e.g. `my-project`. */
  readonly project: string;
  /** Zones to launch in, e.g. `['us-central1-a', 'us-central1-b']`. Each is one location. */
  readonly zones: readonly string[];
  /** Machine type, e.g. `n2-standard-8` or `g2-standard-8`. */
  readonly machineType: string;
  /** GPUs to attach (for N1 machine types; G2/A2 types bundle theirs). @default [] */
  readonly accelerators?: readonly GcpAccelerator[] | undefined;
  /** Boot image, e.g. `projects/debian-cloud/global/images/family/debian-12`. */
  readonly image: string;
  /** Boot disk size in GB. @default 50 */
  readonly diskSizeGb?: number | undefined;
  /** Boot disk type (per zone). @default 'pd-balanced' */
  readonly diskType?: string | undefined;
  /** VPC network. @default 'global/networks/default' */
  readonly network?: string | undefined;
  /** Subnetwork, e.g. `regions/us-central1/subnetworks/serving`. @default the network's */
  readonly subnetwork?: string | undefined;
  /** Give each instance an ephemeral external IP. @default false */
  readonly externalIp?: boolean | undefined;
  /** Service account for the instances (needs `iam.serviceAccountUser` on it). */
  readonly serviceAccount?: GcpServiceAccount | undefined;
  /** Extra labels on every instance (valid GCP labels). @default {} */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** Startup script used when a launch request brings none. */
  readonly startupScript?: string | undefined;
  /**
   * The auth client every call uses (a google-auth-library client or
   * `createStaticAuthClient(...)`). Required unless `createClients` is given. The provider
   * never looks for credentials itself and never calls the metadata server.
   */
  readonly authClient?: GcpAuthClient | undefined;
  /** Compute Engine endpoint, e.g. `http://127.0.0.1:8080` for an emulator. */
  readonly apiEndpoint?: string | undefined;
  /**
   * Supplies ready-made clients instead (shared between providers, custom transports).
   * Clients from here are the caller's to close; `close()` closes only clients the
   * provider created itself.
   */
  readonly createClients?: (() => GcpClients | Promise<GcpClients>) | undefined;
  /**
   * Port for each instance's `endpoint` (`http://<ip>:<port>`). By default the port the
   * service launched it with (the spec's `port`, kept in the instance's `spothedge-port`
   * label); set this only when replicas are reached on another port (a port mapping).
   * @default the instance's `spothedge-port` label
   */
  readonly replicaPort?: number | undefined;
  /** Which address `endpoint` uses. `external` needs `externalIp: true`. @default 'internal' */
  readonly endpointAddress?: 'internal' | 'external' | undefined;
  /** Instance names are `<prefix>-<idempotency key>`. @default 'spothedge' */
  readonly instanceNamePrefix?: string | undefined;
  /** Longest wait for a zone operation (insert) to finish. @default 300_000 */
  readonly operationTimeoutMs?: number | undefined;
  /** Price sources and overrides. */
  readonly pricing?: GcpPricingSettings | undefined;
}

const ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const PROJECT = /^[a-z][-a-z0-9.:]{4,61}[a-z0-9]$/;

function fail(setting: string, value: unknown, expected: string): never {
  throw new InvalidConfigError(
    `Expected \`${setting}\` to be ${expected}, got ${describeValue(value)}`,
    {
      setting,
      value,
    },
  );
}

function nonEmptyString(setting: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') fail(setting, value, 'a non-empty string');
}

function optionalString(setting: string, value: unknown): void {
  if (value !== undefined) nonEmptyString(setting, value);
}

function positiveInteger(setting: string, value: unknown, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    fail(setting, value, `an integer from 1 to ${max}`);
  }
}

/** The region of a zone: `us-central1-a` → `us-central1`. */
export function regionOfZone(zone: string): string {
  return ZONE.exec(zone)?.[1] ?? zone.replace(/-[a-z]$/, '');
}

/** Validates settings eagerly; throws `InvalidConfigError` naming the setting and value. */
export function validateGcpProviderSettings(settings: GcpProviderSettings): void {
  if (typeof settings !== 'object' || settings === null) fail('settings', settings, 'an object');
  if (typeof settings.project !== 'string' || !PROJECT.test(settings.project)) {
    fail(
      'project',
      settings.project,
      'a project id (6-63 chars of `[a-z0-9-]`, starting with a letter)',
    );
  }
  if (!Array.isArray(settings.zones) || settings.zones.length === 0) {
    fail('zones', settings.zones, 'a non-empty array of zones such as `us-central1-a`');
  }
  settings.zones.forEach((zone, index) => {
    if (typeof zone !== 'string' || !ZONE.test(zone)) {
      fail(`zones[${index}]`, zone, 'a zone such as `us-central1-a`');
    }
  });
  if (new Set(settings.zones).size !== settings.zones.length) {
    fail('zones', settings.zones, 'an array without duplicates');
  }
  if (typeof settings.machineType !== 'string' || !/^[a-z][-a-z0-9]*$/.test(settings.machineType)) {
    fail('machineType', settings.machineType, 'a machine type such as `n2-standard-8`');
  }
  (settings.accelerators ?? []).forEach((accelerator, index) => {
    if (typeof accelerator?.type !== 'string' || !/^[a-z][-a-z0-9]*$/.test(accelerator.type)) {
      fail(
        `accelerators[${index}].type`,
        accelerator?.type,
        'an accelerator type such as `nvidia-tesla-t4`',
      );
    }
    positiveInteger(`accelerators[${index}].count`, accelerator.count, 16);
  });
  nonEmptyString('image', settings.image);
  if (settings.diskSizeGb !== undefined) positiveInteger('diskSizeGb', settings.diskSizeGb, 65_536);
  optionalString('diskType', settings.diskType);
  optionalString('network', settings.network);
  optionalString('subnetwork', settings.subnetwork);
  if (settings.externalIp !== undefined && typeof settings.externalIp !== 'boolean') {
    fail('externalIp', settings.externalIp, 'a boolean');
  }
  if (settings.serviceAccount !== undefined) {
    const email = settings.serviceAccount.email;
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) {
      fail('serviceAccount.email', email, 'a service account e-mail');
    }
    settings.serviceAccount.scopes?.forEach((scope, index) =>
      nonEmptyString(`serviceAccount.scopes[${index}]`, scope),
    );
  }
  for (const [key, value] of Object.entries(settings.labels ?? {})) {
    if (!LABEL_KEY.test(key))
      fail(`labels.${key}`, key, 'a GCP label key (`[a-z][a-z0-9_-]{0,62}`)');
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      fail(`labels.${key}`, value, 'a GCP label value (`[a-z0-9_-]{0,63}`)');
    }
  }
  if (settings.startupScript !== undefined && typeof settings.startupScript !== 'string') {
    fail('startupScript', settings.startupScript, 'a string');
  }
  if (settings.createClients === undefined) {
    const auth = settings.authClient as unknown;
    if (
      typeof auth !== 'object' ||
      auth === null ||
      typeof (auth as GcpAuthClient).getRequestHeaders !== 'function' ||
      typeof (auth as GcpAuthClient).fetch !== 'function'
    ) {
      fail(
        'authClient',
        auth,
        'an auth client with `getRequestHeaders()` and `fetch()` (or give `createClients`)',
      );
    }
  } else if (typeof settings.createClients !== 'function') {
    fail('createClients', settings.createClients, 'a function');
  }
  if (settings.apiEndpoint !== undefined) {
    nonEmptyString('apiEndpoint', settings.apiEndpoint);
    if (/^[a-z]+:\/\//i.test(settings.apiEndpoint) && !URL.canParse(settings.apiEndpoint)) {
      fail('apiEndpoint', settings.apiEndpoint, 'a URL such as `http://127.0.0.1:8080`');
    }
  }
  if (settings.replicaPort !== undefined)
    positiveInteger('replicaPort', settings.replicaPort, 65_535);
  if (settings.endpointAddress !== undefined) {
    if (settings.endpointAddress !== 'internal' && settings.endpointAddress !== 'external') {
      fail('endpointAddress', settings.endpointAddress, '`internal` or `external`');
    }
    if (settings.endpointAddress === 'external' && settings.externalIp !== true) {
      fail('endpointAddress', settings.endpointAddress, '`internal` unless `externalIp` is true');
    }
  }
  if (settings.instanceNamePrefix !== undefined) {
    const prefix = settings.instanceNamePrefix;
    if (typeof prefix !== 'string' || prefix.length > 20 || !isValidResourceName(prefix)) {
      fail('instanceNamePrefix', prefix, 'at most 20 chars of `[a-z0-9-]`, starting with a letter');
    }
  }
  if (settings.operationTimeoutMs !== undefined) {
    positiveInteger('operationTimeoutMs', settings.operationTimeoutMs);
  }
  validatePricing(settings);
}

function validatePricing(settings: GcpProviderSettings): void {
  const pricing = settings.pricing ?? {};
  if (pricing.source !== undefined && pricing.source !== 'catalog' && pricing.source !== 'table') {
    fail('pricing.source', pricing.source, '`catalog` or `table`');
  }
  if (pricing.fetch !== undefined && typeof pricing.fetch !== 'function') {
    fail('pricing.fetch', pricing.fetch, 'a fetch function');
  }
  if (pricing.catalogEndpoint !== undefined && !URL.canParse(pricing.catalogEndpoint)) {
    fail('pricing.catalogEndpoint', pricing.catalogEndpoint, 'a URL');
  }
  optionalString('pricing.apiKey', pricing.apiKey);
  if (pricing.cacheTtlMs !== undefined) positiveInteger('pricing.cacheTtlMs', pricing.cacheTtlMs);
  for (const [key, override] of Object.entries(pricing.overrides ?? {})) {
    for (const [capacity, price] of Object.entries(override ?? {})) {
      if (
        (capacity !== 'spot' && capacity !== 'on-demand') ||
        typeof price !== 'number' ||
        !(price >= 0)
      ) {
        fail(
          `pricing.overrides.${key}.${capacity}`,
          price,
          'a price >= 0 for `spot` or `on-demand`',
        );
      }
    }
  }
  const shape = pricing.machineShape;
  if (shape !== undefined) {
    if (typeof shape.vcpus !== 'number' || !(shape.vcpus > 0)) {
      fail('pricing.machineShape.vcpus', shape.vcpus, 'a number > 0');
    }
    if (typeof shape.memoryGb !== 'number' || !(shape.memoryGb > 0)) {
      fail('pricing.machineShape.memoryGb', shape.memoryGb, 'a number > 0');
    }
  } else if (parseMachineShape(settings.machineType) === undefined) {
    const overridden = Object.keys(pricing.overrides ?? {}).some(
      (key) => key === settings.machineType || key.endsWith(`/${settings.machineType}`),
    );
    if (!overridden) {
      fail(
        'pricing.machineShape',
        shape,
        `the vCPUs and memory of machine type ${describeValue(settings.machineType)} (or a price override)`,
      );
    }
  }
}
