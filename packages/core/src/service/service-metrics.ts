/**
 * Metrics through `@opentelemetry/api`: a no-op until the host registers an OpenTelemetry
 * SDK (or passes its own `Meter`). Gauges are read from the manager's status on
 * collection, so nothing is computed unless someone collects.
 */
import { metrics } from '@opentelemetry/api';
import type { BatchObservableCallback, Counter, Meter, Observable } from '@opentelemetry/api';
import type { ReplicaManager } from '../engine/replica-manager.js';

/** Metric names, stable. */
export const MetricName = {
  Replicas: 'spothedge.replicas',
  CostPerHour: 'spothedge.cost_per_hour',
  Target: 'spothedge.target_replicas',
  Preemptions: 'spothedge.preemptions',
  Fallbacks: 'spothedge.fallbacks',
  LaunchFailures: 'spothedge.launch_failures',
} as const;

/** Registers the service's instruments; `close()` unregisters the gauge callback. */
export class ServiceMetrics {
  readonly #meter: Meter;
  readonly #observables: Observable[];
  readonly #callback: BatchObservableCallback;
  readonly #preemptions: Counter;
  readonly #fallbacks: Counter;
  readonly #launchFailures: Counter;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: { readonly manager: ReplicaManager; readonly meter?: Meter | undefined }) {
    const manager = options.manager;
    const meter = options.meter ?? metrics.getMeter('@spothedge/core');
    this.#meter = meter;
    const service = manager.service;
    const replicas = meter.createObservableGauge(MetricName.Replicas, {
      description: 'Replicas by status, location and capacity type',
    });
    const cost = meter.createObservableGauge(MetricName.CostPerHour, {
      description: 'Hourly price of the instances the service holds',
      unit: 'USD/h',
    });
    const target = meter.createObservableGauge(MetricName.Target, {
      description: 'Ready replicas the service needs (autoscaler target)',
    });
    this.#observables = [replicas, cost, target];
    this.#callback = (result) => {
      const status = manager.status();
      const counts = new Map<
        string,
        { status: string; location: string; capacity: string; n: number }
      >();
      for (const replica of status.replicas) {
        const key = `${replica.status}|${replica.location}|${replica.capacityType}`;
        const entry = counts.get(key);
        if (entry === undefined) {
          counts.set(key, {
            status: replica.status,
            location: replica.location,
            capacity: replica.capacityType,
            n: 1,
          });
        } else entry.n++;
      }
      for (const entry of counts.values()) {
        result.observe(replicas, entry.n, {
          service,
          status: entry.status,
          location: entry.location,
          capacity_type: entry.capacity,
        });
      }
      result.observe(cost, status.costPerHour, { service });
      result.observe(target, status.target, { service });
    };
    meter.addBatchObservableCallback(this.#callback, this.#observables);
    this.#preemptions = meter.createCounter(MetricName.Preemptions, {
      description: 'Spot replicas reclaimed by the cloud',
    });
    this.#fallbacks = meter.createCounter(MetricName.Fallbacks, {
      description: 'Times on-demand fallback started',
    });
    this.#launchFailures = meter.createCounter(MetricName.LaunchFailures, {
      description: 'Rejected launches',
    });
    this.#unsubscribe.push(
      manager.on('replica-preempt', (event) =>
        this.#preemptions.add(1, { service, location: event.location }),
      ),
      manager.on('fallback-start', () => this.#fallbacks.add(1, { service })),
      manager.on('launch-fail', (event) =>
        this.#launchFailures.add(1, {
          service,
          location: event.location,
          capacity_type: event.capacityType,
          reason: event.reason,
        }),
      ),
    );
  }

  close(): void {
    this.#meter.removeBatchObservableCallback(this.#callback, this.#observables);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
