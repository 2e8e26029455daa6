/**
 * A local EC2 for tests: an HTTP server on 127.0.0.1 that speaks the EC2 Query API
 * (form-encoded `POST /`, XML responses with lowerCamel element names and `<item>` lists,
 * the EC2 error XML) for the actions the provider uses — `RunInstances`,
 * `DescribeInstances`, `TerminateInstances`, `DescribeSpotPriceHistory` — so the provider
 * is tested through the real `EC2Client`.
 *
 * Scriptable: per-zone spot and on-demand capacity (also on a schedule, preempting spot
 * instances above a lowered capacity), spot interruptions, throttling bursts, injected
 * errors, pending → running and shutting-down → terminated delays, pagination, several
 * regions (routed by the region in the request's SigV4 credential scope) and `ClientToken`
 * idempotency. Time is the wall clock plus whatever {@link Ec2Fake.advance} added, and
 * state moves lazily on each request, so the fake owns no timers.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** EC2 instance state names. */
export type Ec2StateName =
  'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

const STATE_CODES: Readonly<Record<Ec2StateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

const STATE_REASON_MESSAGES: Readonly<Record<string, string>> = {
  'Server.SpotInstanceTermination': 'Server.SpotInstanceTermination: Spot instance termination',
  'Client.UserInitiatedShutdown': 'Client.UserInitiatedShutdown: User initiated shutdown',
};

/** One instance as the fake holds it. */
export interface Ec2FakeInstance {
  readonly id: string;
  readonly region: string;
  readonly zone: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly spot: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly launchTime: number;
  readonly state: Ec2StateName;
  readonly stateChangedAt: number;
  readonly stateReason: string | undefined;
  readonly privateIp: string;
  readonly publicIp: string;
  readonly subnetId: string | undefined;
  readonly userData: string | undefined;
  readonly clientToken: string | undefined;
  /** The raw RunInstances parameters (empty for foreign instances). */
  readonly launchParams: Readonly<Record<string, string>>;
}

type MutableInstance = { -readonly [K in keyof Ec2FakeInstance]: Ec2FakeInstance[K] };

/** One request the fake received. */
export interface Ec2FakeRequest {
  readonly region: string;
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
  /** HTTP status the fake answered with. */
  status: number;
  /** Error code the fake answered with, if any. */
  errorCode: string | undefined;
}

/** An error the fake returns instead of handling matching requests. */
export interface Ec2FakeInjectedError {
  /** Only for this action. @default every action */
  readonly action?: string | undefined;
  /** Only in this region. @default every region */
  readonly region?: string | undefined;
  readonly code: string;
  /** @default 400 */
  readonly status?: number | undefined;
  /** @default `Injected ${code}` */
  readonly message?: string | undefined;
  /** How many matching requests fail. @default 1 */
  readonly count?: number | undefined;
}

/** A change of a zone's spot capacity at a point in the fake's time. */
export interface Ec2FakeCapacityChange {
  /** Fake time (epoch ms) at which the change applies. */
  readonly at: number;
  readonly zone: string;
  readonly capacity: number;
}

export interface Ec2FakeOptions {
  /** Regions and their zones, e.g. `{ 'us-east-1': ['us-east-1a', 'us-east-1b'] }`. */
  readonly regions: Readonly<Record<string, readonly string[]>>;
  /** Instance types with spot price history. @default ['g5.xlarge'] */
  readonly instanceTypes?: readonly string[] | undefined;
  /** Initial spot price of every zone and type. @default 0.4 */
  readonly spotPrice?: number | undefined;
  /** Alive spot instances allowed per zone. @default Infinity */
  readonly spotCapacity?: number | undefined;
  /** Alive on-demand instances allowed per zone. @default Infinity */
  readonly onDemandCapacity?: number | undefined;
  /** Time from launch to `running`. @default 0 (running at the next describe) */
  readonly pendingMs?: number | undefined;
  /** Time from `shutting-down` to `terminated`. @default 0 */
  readonly shuttingDownMs?: number | undefined;
  /** How long terminated instances stay visible. @default 3_600_000 */
  readonly terminatedRetentionMs?: number | undefined;
  /** Largest accepted `MaxResults`; real EC2 allows 1000. @default 1000 */
  readonly maxPageSize?: number | undefined;
}

const MAX_BODY_BYTES = 1_000_000;
const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

class FakeEc2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** `<name>children</name>`; children are XML already, or text when `text` is true. */
function element(name: string, children: string | number | boolean | undefined): string {
  if (children === undefined) return '';
  return `<${name}>${typeof children === 'string' ? children : String(children)}</${name}>`;
}

function textElement(name: string, text: string | undefined): string {
  return text === undefined ? '' : element(name, escapeXml(text));
}

function itemList(name: string, items: readonly string[]): string {
  return `<${name}>${items.map((item) => `<item>${item}</item>`).join('')}</${name}>`;
}

/** Values of `Prefix.1`, `Prefix.2`, ... in order. */
function listParam(params: Readonly<Record<string, string>>, prefix: string): string[] {
  const values: string[] = [];
  for (let index = 1; params[`${prefix}.${index}`] !== undefined; index += 1) {
    values.push(params[`${prefix}.${index}`] as string);
  }
  return values;
}

interface ParsedFilter {
  readonly name: string;
  readonly values: readonly string[];
}

function filtersParam(params: Readonly<Record<string, string>>): ParsedFilter[] {
  const filters: ParsedFilter[] = [];
  for (let index = 1; params[`Filter.${index}.Name`] !== undefined; index += 1) {
    filters.push({
      name: params[`Filter.${index}.Name`] as string,
      values: listParam(params, `Filter.${index}.Value`),
    });
  }
  return filters;
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

function decodeToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      offset?: unknown;
    };
    if (
      typeof parsed.offset === 'number' &&
      Number.isInteger(parsed.offset) &&
      parsed.offset >= 0
    ) {
      return parsed.offset;
    }
  } catch {
    // fall through to the error below
  }
  throw new FakeEc2Error('InvalidParameterValue', `The token '${token}' is invalid.`);
}

const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8,17}$/;

/** The fake EC2. Start it with {@link Ec2Fake.start}; `close()` it after the test. */
export class Ec2Fake {
  /** Base URL for `EC2Client`'s `endpoint`, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  readonly #server: Server;
  readonly #zoneRegion = new Map<string, string>();
  readonly #instanceTypes: readonly string[];
  readonly #spotCapacity = new Map<string, number>();
  readonly #onDemandCapacity = new Map<string, number>();
  readonly #instances = new Map<string, MutableInstance>();
  readonly #tokens = new Map<string, string>();
  /** Price history per `${zone} ${type}`, oldest first. */
  readonly #prices = new Map<string, { price: number; timestamp: number }[]>();
  readonly #requests: Ec2FakeRequest[] = [];
  readonly #injected: { error: Ec2FakeInjectedError; remaining: number }[] = [];
  readonly #schedule: Ec2FakeCapacityChange[] = [];
  readonly #delays: { delayMs: number; action?: string; remaining: number }[] = [];
  #offsetMs = 0;
  #counter = 0;
  readonly #pendingMs: number;
  readonly #shuttingDownMs: number;
  readonly #retentionMs: number;
  readonly #maxPageSize: number;

  private constructor(server: Server, endpoint: string, options: Ec2FakeOptions) {
    this.#server = server;
    this.endpoint = endpoint;
    this.#instanceTypes = options.instanceTypes ?? ['g5.xlarge'];
    this.#pendingMs = options.pendingMs ?? 0;
    this.#shuttingDownMs = options.shuttingDownMs ?? 0;
    this.#retentionMs = options.terminatedRetentionMs ?? 3_600_000;
    this.#maxPageSize = options.maxPageSize ?? 1000;
    const start = this.now() - 3_600_000;
    for (const [region, zones] of Object.entries(options.regions)) {
      for (const zone of zones) {
        this.#zoneRegion.set(zone, region);
        this.#spotCapacity.set(zone, options.spotCapacity ?? Number.POSITIVE_INFINITY);
        this.#onDemandCapacity.set(zone, options.onDemandCapacity ?? Number.POSITIVE_INFINITY);
        for (const type of this.#instanceTypes) {
          this.#prices.set(`${zone} ${type}`, [
            { price: options.spotPrice ?? 0.4, timestamp: start },
          ]);
        }
      }
    }
  }

  /** Starts a fake on an ephemeral port of 127.0.0.1. */
  static async start(options: Ec2FakeOptions): Promise<Ec2Fake> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new Ec2Fake(server, `http://127.0.0.1:${port}`, options);
    server.on('request', (request: IncomingMessage, response: ServerResponse) =>
      fake.handle(request, response),
    );
    return fake;
  }

  /** Stops the server and drops its connections. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The fake's time: the wall clock plus every {@link advance}. */
  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Moves the fake's time forward (pending → running, shutting-down → terminated, schedules). */
  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  /** Every request received, oldest first. */
  get requests(): readonly Ec2FakeRequest[] {
    return this.#requests;
  }

  /** How many requests of `action` (in `region`, when given) the fake received. */
  requestCount(action: string, region?: string): number {
    return this.#requests.filter(
      (request) => request.action === action && (region === undefined || request.region === region),
    ).length;
  }

  /**
   * Sets how many alive spot instances `zone` holds. Lowering it below the alive count
   * preempts the newest excess spot instances (like a real capacity drop) unless
   * `preemptExcess` is false.
   */
  setSpotCapacity(zone: string, capacity: number, options: { preemptExcess?: boolean } = {}): void {
    this.#checkZone(zone);
    this.#spotCapacity.set(zone, capacity);
    if (options.preemptExcess === false) return;
    const alive = [...this.#instances.values()]
      .filter((instance) => instance.zone === zone && instance.spot && isAlive(instance.state))
      .sort((left, right) => right.launchTime - left.launchTime);
    for (const instance of alive.slice(0, Math.max(0, alive.length - capacity))) {
      this.preempt(instance.id);
    }
  }

  /** Sets how many alive on-demand instances `zone` holds (launches beyond fail). */
  setOnDemandCapacity(zone: string, capacity: number): void {
    this.#checkZone(zone);
    this.#onDemandCapacity.set(zone, capacity);
  }

  /** Schedules spot capacity changes; each applies when the fake's time reaches `at`. */
  scheduleSpotCapacity(changes: readonly Ec2FakeCapacityChange[]): void {
    for (const change of changes) this.#checkZone(change.zone);
    this.#schedule.push(...changes);
    this.#schedule.sort((left, right) => left.at - right.at);
  }

  /** Records a new spot price for `zone` and `instanceType` (now, unless `timestamp`). */
  setSpotPrice(zone: string, instanceType: string, price: number, timestamp = this.now()): void {
    this.#checkZone(zone);
    const key = `${zone} ${instanceType}`;
    const history = this.#prices.get(key) ?? [];
    history.push({ price, timestamp });
    history.sort((left, right) => left.timestamp - right.timestamp);
    this.#prices.set(key, history);
  }

  /**
   * Interrupts a spot instance: it goes `shutting-down` with `Server.SpotInstanceTermination`,
   * then `terminated` after `shuttingDownMs`.
   */
  preempt(instanceId: string, reason = 'Server.SpotInstanceTermination'): void {
    const instance = this.#instances.get(instanceId);
    if (instance === undefined) throw new Error(`Ec2Fake: unknown instance ${instanceId}`);
    if (!isAlive(instance.state)) return;
    this.#setState(instance, 'shutting-down', reason);
  }

  /** The next `count` requests (of `action`, when given) fail with `RequestLimitExceeded`. */
  throttle(count: number, options: { action?: string; region?: string } = {}): void {
    this.injectError({
      ...options,
      code: 'RequestLimitExceeded',
      status: 503,
      message: 'Request limit exceeded.',
      count,
    });
  }

  /** The next matching request(s) fail with this error instead of being handled. */
  injectError(error: Ec2FakeInjectedError): void {
    this.#injected.push({ error, remaining: error.count ?? 1 });
  }

  /**
   * The next `count` matching requests are answered only after `delayMs` (wall clock), to
   * exercise request timeouts.
   */
  delayResponses(options: { delayMs: number; action?: string; count?: number }): void {
    this.#delays.push({ ...options, remaining: options.count ?? 1 });
  }

  /** Drops every injected error and throttling burst not yet used up. */
  clearInjectedErrors(): void {
    this.#injected.length = 0;
  }

  /** Creates a running on-demand instance without spothedge tags; returns its id. */
  createForeignInstance(
    zone: string,
    tags: Readonly<Record<string, string>> = { Name: 'not-ours' },
  ): string {
    this.#checkZone(zone);
    const instance = this.#newInstance({
      region: this.#zoneRegion.get(zone) as string,
      zone,
      instanceType: this.#instanceTypes[0] ?? 'm5.large',
      imageId: 'ami-0f0f0f0f0f0f0f0f0',
      spot: false,
      tags,
      params: {},
    });
    instance.state = 'running';
    return instance.id;
  }

  /** A snapshot of an instance, or `undefined` once it is gone. */
  instance(instanceId: string): Ec2FakeInstance | undefined {
    this.#advanceState();
    const instance = this.#instances.get(instanceId);
    return instance === undefined ? undefined : { ...instance };
  }

  /** Every instance the fake holds now (including terminated ones still visible). */
  instances(): readonly Ec2FakeInstance[] {
    this.#advanceState();
    return [...this.#instances.values()].map((instance) => ({ ...instance }));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const params = Object.fromEntries(
        new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      );
      const region =
        /Credential=[^/]+\/\d{8}\/([^/]+)\/ec2\//.exec(request.headers.authorization ?? '')?.[1] ??
        '';
      const action = params['Action'] ?? '';
      const record: Ec2FakeRequest = { region, action, params, status: 200, errorCode: undefined };
      this.#requests.push(record);
      let body: string;
      try {
        if (request.method !== 'POST')
          throw new FakeEc2Error('InvalidAction', 'Only POST is supported.');
        if (![...this.#zoneRegion.values()].includes(region)) {
          throw new FakeEc2Error(
            'AuthFailure',
            `Region '${region}' is not served by this fake.`,
            401,
          );
        }
        this.#advanceState();
        this.#throwInjected(action, region);
        body = this.#dispatch(action, region, params);
      } catch (error) {
        const failure =
          error instanceof FakeEc2Error
            ? error
            : new FakeEc2Error(
                'InternalError',
                error instanceof Error ? error.message : String(error),
                500,
              );
        record.status = failure.status;
        record.errorCode = failure.code;
        body =
          `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>` +
          `${textElement('Code', failure.code)}${textElement('Message', failure.message)}` +
          `</Error></Errors>${textElement('RequestID', randomUUID())}</Response>`;
      }
      const delayIndex = this.#delays.findIndex(
        (delay) => delay.action === undefined || delay.action === action,
      );
      const delay = delayIndex === -1 ? undefined : this.#delays[delayIndex];
      if (delay !== undefined) {
        delay.remaining -= 1;
        if (delay.remaining <= 0) this.#delays.splice(delayIndex, 1);
      }
      const send = () => {
        if (response.destroyed) return;
        response.writeHead(record.status, { 'content-type': 'text/xml;charset=UTF-8' });
        response.end(body);
      };
      if (delay === undefined) send();
      else setTimeout(send, delay.delayMs).unref();
    });
  }

  #throwInjected(action: string, region: string): void {
    const index = this.#injected.findIndex(
      ({ error }) =>
        (error.action === undefined || error.action === action) &&
        (error.region === undefined || error.region === region),
    );
    if (index === -1) return;
    const entry = this.#injected[index] as { error: Ec2FakeInjectedError; remaining: number };
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#injected.splice(index, 1);
    const { error } = entry;
    throw new FakeEc2Error(
      error.code,
      error.message ?? `Injected ${error.code}`,
      error.status ?? 400,
    );
  }

  #dispatch(action: string, region: string, params: Readonly<Record<string, string>>): string {
    let inner: string;
    switch (action) {
      case 'RunInstances':
        inner = this.#runInstances(region, params);
        break;
      case 'DescribeInstances':
        inner = this.#describeInstances(region, params);
        break;
      case 'TerminateInstances':
        inner = this.#terminateInstances(region, params);
        break;
      case 'DescribeSpotPriceHistory':
        inner = this.#describeSpotPriceHistory(region, params);
        break;
      default:
        throw new FakeEc2Error(
          'InvalidAction',
          `The action ${action} is not valid for this web service.`,
        );
    }
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}">` +
      `${textElement('requestId', randomUUID())}${inner}</${action}Response>`
    );
  }

  #runInstances(region: string, params: Readonly<Record<string, string>>): string {
    const imageId = params['ImageId'];
    const instanceType = params['InstanceType'] ?? 'm1.small';
    if (imageId === undefined || !/^ami-[0-9a-f]+$/.test(imageId)) {
      throw new FakeEc2Error(
        'InvalidAMIID.Malformed',
        `Invalid id: "${imageId ?? ''}" (expecting "ami-...")`,
      );
    }
    if (params['MinCount'] !== '1' || params['MaxCount'] !== '1') {
      throw new FakeEc2Error(
        'InvalidParameterValue',
        'This fake launches exactly one instance per call.',
      );
    }
    const zone = params['Placement.AvailabilityZone'];
    if (zone === undefined || this.#zoneRegion.get(zone) !== region) {
      throw new FakeEc2Error('InvalidParameterValue', `Invalid availability zone: [${zone ?? ''}]`);
    }
    const spot = params['InstanceMarketOptions.MarketType'] === 'spot';
    const token = params['ClientToken'];
    if (token !== undefined) {
      const existingId = this.#tokens.get(`${region} ${token}`);
      const existing = existingId === undefined ? undefined : this.#instances.get(existingId);
      if (existing !== undefined) {
        if (
          existing.zone !== zone ||
          existing.instanceType !== instanceType ||
          existing.spot !== spot
        ) {
          throw new FakeEc2Error(
            'IdempotentParameterMismatch',
            'The client token you have provided is associated with a request for a different set of parameters.',
          );
        }
        return this.#reservationBody(existing);
      }
    }
    const alive = [...this.#instances.values()].filter(
      (instance) => instance.zone === zone && instance.spot === spot && isAlive(instance.state),
    ).length;
    const capacity = (spot ? this.#spotCapacity : this.#onDemandCapacity).get(zone) ?? 0;
    if (alive >= capacity) {
      // Real EC2 answers capacity errors with HTTP 500, which SDK retry strategies retry.
      throw new FakeEc2Error(
        'InsufficientInstanceCapacity',
        spot
          ? 'There is no Spot capacity available that matches your request.'
          : `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}).`,
        500,
      );
    }
    const tags: Record<string, string> = {};
    for (let spec = 1; params[`TagSpecification.${spec}.ResourceType`] !== undefined; spec += 1) {
      if (params[`TagSpecification.${spec}.ResourceType`] !== 'instance') continue;
      for (
        let index = 1;
        params[`TagSpecification.${spec}.Tag.${index}.Key`] !== undefined;
        index += 1
      ) {
        tags[params[`TagSpecification.${spec}.Tag.${index}.Key`] as string] =
          params[`TagSpecification.${spec}.Tag.${index}.Value`] ?? '';
      }
    }
    const instance = this.#newInstance({ region, zone, instanceType, imageId, spot, tags, params });
    if (token !== undefined) {
      instance.clientToken = token;
      this.#tokens.set(`${region} ${token}`, instance.id);
    }
    return this.#reservationBody(instance);
  }

  #describeInstances(region: string, params: Readonly<Record<string, string>>): string {
    const ids = listParam(params, 'InstanceId');
    const filters = filtersParam(params);
    const maxResults =
      params['MaxResults'] === undefined ? undefined : Number(params['MaxResults']);
    if (maxResults !== undefined) {
      if (ids.length > 0) {
        throw new FakeEc2Error(
          'InvalidParameterCombination',
          'The parameter instancesSet cannot be used with the parameter maxResults',
        );
      }
      if (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > this.#maxPageSize) {
        throw new FakeEc2Error(
          'InvalidParameterValue',
          `Value ( ${params['MaxResults']} ) for parameter maxResults is invalid. Expecting a value between 5 and ${this.#maxPageSize}.`,
        );
      }
    }
    for (const id of ids) {
      if (!INSTANCE_ID_PATTERN.test(id))
        throw new FakeEc2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
      const instance = this.#instances.get(id);
      if (instance === undefined || instance.region !== region) {
        throw new FakeEc2Error(
          'InvalidInstanceID.NotFound',
          `The instance ID '${id}' does not exist`,
        );
      }
    }
    const matching = [...this.#instances.values()].filter(
      (instance) =>
        instance.region === region &&
        (ids.length === 0 || ids.includes(instance.id)) &&
        filters.every((filter) => matchesFilter(instance, filter)),
    );
    const offset = decodeToken(params['NextToken']);
    const page =
      maxResults === undefined
        ? matching.slice(offset)
        : matching.slice(offset, offset + maxResults);
    const next =
      maxResults !== undefined && offset + maxResults < matching.length
        ? offset + maxResults
        : undefined;
    return (
      itemList(
        'reservationSet',
        page.map((instance) => this.#reservationBody(instance)),
      ) + (next === undefined ? '' : textElement('nextToken', encodeToken(next)))
    );
  }

  #terminateInstances(region: string, params: Readonly<Record<string, string>>): string {
    const ids = listParam(params, 'InstanceId');
    if (ids.length === 0)
      throw new FakeEc2Error(
        'MissingParameter',
        'The request must contain the parameter InstanceId',
      );
    const instances = ids.map((id) => {
      if (!INSTANCE_ID_PATTERN.test(id))
        throw new FakeEc2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
      const instance = this.#instances.get(id);
      if (instance === undefined || instance.region !== region) {
        throw new FakeEc2Error(
          'InvalidInstanceID.NotFound',
          `The instance ID '${id}' does not exist`,
        );
      }
      return instance;
    });
    const changes = instances.map((instance) => {
      const previous = instance.state;
      if (previous !== 'terminated' && previous !== 'shutting-down') {
        this.#setState(instance, 'shutting-down', 'Client.UserInitiatedShutdown');
      }
      return (
        textElement('instanceId', instance.id) +
        element('currentState', stateXml(instance.state)) +
        element('previousState', stateXml(previous))
      );
    });
    return itemList('instancesSet', changes);
  }

  #describeSpotPriceHistory(region: string, params: Readonly<Record<string, string>>): string {
    const types = listParam(params, 'InstanceType');
    const products = listParam(params, 'ProductDescription');
    const filters = filtersParam(params);
    const zoneParam = params['AvailabilityZone'];
    const startTime =
      params['StartTime'] === undefined
        ? Number.NEGATIVE_INFINITY
        : Date.parse(params['StartTime']);
    const maxResults = params['MaxResults'] === undefined ? 1000 : Number(params['MaxResults']);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > this.#maxPageSize) {
      throw new FakeEc2Error(
        'InvalidParameterValue',
        `Invalid value for MaxResults: ${params['MaxResults']}`,
      );
    }
    const product = 'Linux/UNIX';
    if (products.length > 0 && !products.includes(product))
      return itemList('spotPriceHistorySet', []);
    const entries: { zone: string; type: string; price: number; timestamp: number }[] = [];
    for (const [key, history] of this.#prices) {
      const [zone = '', type = ''] = key.split(' ');
      if (this.#zoneRegion.get(zone) !== region) continue;
      if (types.length > 0 && !types.includes(type)) continue;
      if (zoneParam !== undefined && zoneParam !== zone) continue;
      const fields: Readonly<Record<string, string>> = {
        'availability-zone': zone,
        'instance-type': type,
        'product-description': product,
      };
      if (
        !filters.every(
          (filter) =>
            fields[filter.name] !== undefined &&
            filter.values.includes(fields[filter.name] as string),
        )
      ) {
        continue;
      }
      const visible = history.filter((entry) => entry.timestamp <= this.now());
      // The price in effect at StartTime, plus every later change.
      const inEffect = visible.filter((entry) => entry.timestamp <= startTime).at(-1);
      for (const entry of visible) {
        if (entry.timestamp > startTime || entry === inEffect)
          entries.push({ zone, type, ...entry });
      }
    }
    entries.sort(
      (left, right) => right.timestamp - left.timestamp || left.zone.localeCompare(right.zone),
    );
    const offset = decodeToken(params['NextToken']);
    const page = entries.slice(offset, offset + maxResults);
    const next = offset + maxResults < entries.length ? offset + maxResults : undefined;
    return (
      itemList(
        'spotPriceHistorySet',
        page.map(
          (entry) =>
            textElement('instanceType', entry.type) +
            textElement('productDescription', product) +
            textElement('spotPrice', entry.price.toFixed(6)) +
            textElement('timestamp', new Date(entry.timestamp).toISOString()) +
            textElement('availabilityZone', entry.zone),
        ),
      ) + (next === undefined ? '' : textElement('nextToken', encodeToken(next)))
    );
  }

  #newInstance(options: {
    region: string;
    zone: string;
    instanceType: string;
    imageId: string;
    spot: boolean;
    tags: Readonly<Record<string, string>>;
    params: Readonly<Record<string, string>>;
  }): MutableInstance {
    this.#counter += 1;
    const counter = this.#counter;
    const userData = options.params['UserData'];
    const instance: MutableInstance = {
      id: `i-${counter.toString(16).padStart(17, '0')}`,
      region: options.region,
      zone: options.zone,
      instanceType: options.instanceType,
      imageId: options.imageId,
      spot: options.spot,
      tags: { ...options.tags },
      launchTime: this.now(),
      state: 'pending',
      stateChangedAt: this.now(),
      stateReason: undefined,
      privateIp: `10.${Math.floor(counter / 65_536) % 256}.${Math.floor(counter / 256) % 256}.${counter % 256}`,
      publicIp: `198.51.${Math.floor(counter / 256) % 256}.${counter % 256}`,
      subnetId: options.params['SubnetId'],
      userData:
        userData === undefined ? undefined : Buffer.from(userData, 'base64').toString('utf8'),
      clientToken: undefined,
      launchParams: { ...options.params },
    };
    this.#instances.set(instance.id, instance);
    return instance;
  }

  #setState(instance: MutableInstance, state: Ec2StateName, reason: string | undefined): void {
    instance.state = state;
    instance.stateChangedAt = this.now();
    instance.stateReason = reason;
  }

  /** Applies due capacity changes and moves instances through timed transitions. */
  #advanceState(): void {
    const now = this.now();
    while (this.#schedule.length > 0 && (this.#schedule[0] as Ec2FakeCapacityChange).at <= now) {
      const change = this.#schedule.shift() as Ec2FakeCapacityChange;
      this.setSpotCapacity(change.zone, change.capacity);
    }
    for (const instance of [...this.#instances.values()]) {
      if (instance.state === 'pending' && now - instance.launchTime >= this.#pendingMs) {
        instance.state = 'running';
        instance.stateChangedAt = instance.launchTime + this.#pendingMs;
      }
      if (
        instance.state === 'shutting-down' &&
        now - instance.stateChangedAt >= this.#shuttingDownMs
      ) {
        instance.state = 'terminated';
        instance.stateChangedAt += this.#shuttingDownMs;
      }
      if (instance.state === 'terminated' && now - instance.stateChangedAt >= this.#retentionMs) {
        this.#instances.delete(instance.id);
      }
    }
  }

  #checkZone(zone: string): void {
    if (!this.#zoneRegion.has(zone)) throw new Error(`Ec2Fake: unknown zone ${zone}`);
  }

  #reservationBody(instance: MutableInstance): string {
    return (
      textElement('reservationId', `r-${instance.id.slice(2)}`) +
      textElement('ownerId', '123456789012') +
      '<groupSet/>' +
      itemList('instancesSet', [instanceXml(instance)])
    );
  }
}

function isAlive(state: Ec2StateName): boolean {
  return state === 'pending' || state === 'running';
}

function stateXml(state: Ec2StateName): string {
  return element('code', STATE_CODES[state]) + textElement('name', state);
}

function instanceXml(instance: Ec2FakeInstance): string {
  const hasAddress = instance.state === 'pending' || instance.state === 'running';
  const reason = instance.stateReason;
  return (
    textElement('instanceId', instance.id) +
    textElement('imageId', instance.imageId) +
    element('instanceState', stateXml(instance.state)) +
    textElement(
      'privateDnsName',
      hasAddress ? `ip-${instance.privateIp.replaceAll('.', '-')}.ec2.internal` : '',
    ) +
    '<dnsName/>' +
    textElement('reason', reason === undefined ? '' : (STATE_REASON_MESSAGES[reason] ?? reason)) +
    element('amiLaunchIndex', 0) +
    textElement('instanceType', instance.instanceType) +
    textElement('launchTime', new Date(instance.launchTime).toISOString()) +
    element(
      'placement',
      textElement('availabilityZone', instance.zone) + textElement('tenancy', 'default'),
    ) +
    textElement('subnetId', instance.subnetId) +
    (hasAddress ? textElement('privateIpAddress', instance.privateIp) : '') +
    (hasAddress ? textElement('ipAddress', instance.publicIp) : '') +
    (reason === undefined
      ? ''
      : element(
          'stateReason',
          textElement('code', reason) +
            textElement('message', STATE_REASON_MESSAGES[reason] ?? reason),
        )) +
    (instance.spot ? textElement('instanceLifecycle', 'spot') : '') +
    (instance.spot ? textElement('spotInstanceRequestId', `sir-${instance.id.slice(-8)}`) : '') +
    itemList(
      'tagSet',
      Object.entries(instance.tags).map(
        ([key, value]) => textElement('key', key) + textElement('value', value),
      ),
    )
  );
}

function matchesFilter(instance: Ec2FakeInstance, filter: ParsedFilter): boolean {
  if (filter.name.startsWith('tag:')) {
    const value = instance.tags[filter.name.slice(4)];
    return value !== undefined && filter.values.includes(value);
  }
  switch (filter.name) {
    case 'tag-key':
      return filter.values.some((key) => instance.tags[key] !== undefined);
    case 'instance-id':
      return filter.values.includes(instance.id);
    case 'instance-state-name':
      return filter.values.includes(instance.state);
    case 'availability-zone':
      return filter.values.includes(instance.zone);
    case 'instance-lifecycle':
      return instance.spot && filter.values.includes('spot');
    default:
      throw new FakeEc2Error('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
  }
}
