/**
 * A {@link StateStore} in process memory: the default for tests, the simulator and hosts
 * that accept losing state on restart (recovery then rests on the provider's tags alone).
 */
import { IllegalStateError, LeaseLostError } from '../errors.js';
import type { JsonValue } from '../policy/types.js';
import type {
  AcquireLeaseRequest,
  LaunchIntent,
  Lease,
  RenewLeaseRequest,
  ReplicaRecord,
  StateStore,
  StateWrite,
  StoredServiceState,
  WriteOptions,
} from './state-store.js';

interface ServiceData {
  readonly replicas: Map<string, ReplicaRecord>;
  readonly intents: Map<string, LaunchIntent>;
  policyState: JsonValue | undefined;
  lease: Lease | undefined;
  /** Highest epoch ever granted (survives release, so epochs never repeat). */
  epoch: number;
}

/**
 * In-memory {@link StateStore}. Records are kept by reference (they are readonly values),
 * so writes cost O(changes).
 *
 * @example
 * ```ts
 * const service = createService({ spec, providers, store: new MemoryStateStore() });
 * ```
 */
export class MemoryStateStore implements StateStore {
  readonly #services = new Map<string, ServiceData>();
  #closed = false;

  #data(service: string): ServiceData {
    if (this.#closed) {
      throw new IllegalStateError('The state store is closed', { state: 'closed' });
    }
    let data = this.#services.get(service);
    if (data === undefined) {
      data = {
        replicas: new Map(),
        intents: new Map(),
        policyState: undefined,
        lease: undefined,
        epoch: 0,
      };
      this.#services.set(service, data);
    }
    return data;
  }

  async load(service: string): Promise<StoredServiceState> {
    const data = this.#data(service);
    return {
      replicas: [...data.replicas.values()],
      intents: [...data.intents.values()],
      policyState: data.policyState,
    };
  }

  async write(service: string, write: StateWrite, options: WriteOptions = {}): Promise<void> {
    const data = this.#data(service);
    if (options.fence !== undefined) checkFence(data, options.fence);
    for (const id of write.deleteReplicas ?? []) data.replicas.delete(id);
    for (const key of write.deleteIntents ?? []) data.intents.delete(key);
    for (const record of write.replicas ?? []) data.replicas.set(record.id, record);
    for (const intent of write.intents ?? []) data.intents.set(intent.idempotencyKey, intent);
    if (write.policyState !== undefined) data.policyState = write.policyState;
  }

  async acquireLease(request: AcquireLeaseRequest): Promise<Lease | undefined> {
    const data = this.#data(request.service);
    const current = data.lease;
    if (current !== undefined && current.holder === request.holder) {
      data.lease = { ...current, expiresAt: request.now + request.ttlMs };
      return data.lease;
    }
    if (current !== undefined && current.expiresAt > request.now) return undefined;
    data.epoch += 1;
    data.lease = {
      service: request.service,
      holder: request.holder,
      epoch: data.epoch,
      expiresAt: request.now + request.ttlMs,
    };
    return data.lease;
  }

  async renewLease(lease: Lease, request: RenewLeaseRequest): Promise<Lease> {
    const data = this.#data(lease.service);
    checkFence(data, lease);
    data.lease = { ...lease, expiresAt: request.now + request.ttlMs };
    return data.lease;
  }

  async releaseLease(lease: Lease): Promise<void> {
    const data = this.#data(lease.service);
    const current = data.lease;
    if (current !== undefined && current.holder === lease.holder && current.epoch === lease.epoch) {
      data.lease = undefined;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#services.clear();
  }
}

function checkFence(data: ServiceData, lease: Lease): void {
  const current = data.lease;
  if (current === undefined || current.holder !== lease.holder || current.epoch !== lease.epoch) {
    throw new LeaseLostError(
      `Lease of service \`${lease.service}\` at epoch ${lease.epoch} held by \`${lease.holder}\` is no longer current`,
    );
  }
}
