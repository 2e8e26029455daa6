/**
 * A custom placement policy, written as a user of `@spothedge/core` would write one:
 * "cheapest-first spot with a fixed on-demand floor".
 *
 * - Always keeps `onDemandFloor` on-demand replicas (in the cheapest on-demand location).
 * - Runs the rest of the target on spot, each new replica in the cheapest spot location
 *   that is not cooling down.
 * - A spot preemption or a spot capacity failure puts that location on a cooldown of
 *   `cooldownMs`, measured against `view.now`: policies never read a clock themselves.
 */
import {
  InvalidArgumentError,
  chooseTerminations,
  cheapestLocation,
  describeValue,
  summarizeFleet,
} from '@spothedge/core';
import type {
  FleetView,
  JsonValue,
  LocationView,
  Plan,
  PlanAction,
  Policy,
  PolicyEvent,
  ReplicaView,
} from '@spothedge/core';

export interface CheapestSpotWithFloorOptions {
  /** On-demand replicas always kept. @default 1 */
  readonly onDemandFloor?: number;
  /** How long a location is avoided after a preemption or capacity failure. @default 600_000 */
  readonly cooldownMs?: number;
}

export class CheapestSpotWithFloorPolicy implements Policy {
  readonly name = 'cheapest-spot-with-floor';
  readonly onDemandFloor: number;
  readonly cooldownMs: number;
  /** Location id → epoch ms until which no new spot replica goes there. */
  #coolingUntil = new Map<string, number>();

  constructor(options: CheapestSpotWithFloorOptions = {}) {
    this.onDemandFloor = options.onDemandFloor ?? 1;
    this.cooldownMs = options.cooldownMs ?? 600_000;
    if (!Number.isInteger(this.onDemandFloor) || this.onDemandFloor < 0) {
      throw new InvalidArgumentError(
        `Expected \`onDemandFloor\` to be a non-negative integer, got ${describeValue(options.onDemandFloor)}`,
        { argument: 'onDemandFloor', value: options.onDemandFloor },
      );
    }
  }

  observe(event: PolicyEvent): void {
    const failed =
      event.type === 'preemption' ||
      (event.type === 'launch-failure' &&
        event.capacityType === 'spot' &&
        event.reason === 'capacity');
    if (failed) this.#coolingUntil.set(event.location, event.at + this.cooldownMs);
  }

  plan(view: FleetView): Plan {
    const fleet = summarizeFleet(view);
    const floor = Math.min(this.onDemandFloor, view.target);
    const spotWanted = Math.max(0, view.target - floor);
    const actions: PlanAction[] = [];
    // Remove what is too much, least useful first (not ready yet, then newest).
    const scaleDown = (replicas: readonly ReplicaView[], wanted: number) => {
      const notReadyFirst = (replica: ReplicaView) => (replica.status === 'ready' ? 1 : 0);
      for (const replica of chooseTerminations(replicas, replicas.length - wanted, notReadyFirst)) {
        actions.push({ type: 'terminate', replicaId: replica.id, reason: 'above target' });
      }
    };
    scaleDown(fleet.aliveOnDemand, floor);
    scaleDown(fleet.aliveSpot, spotWanted);

    let room =
      view.maxReplicas -
      Math.min(fleet.aliveOnDemand.length, floor) -
      Math.min(fleet.aliveSpot.length, spotWanted);
    const onDemandLocation = cheapestLocation(fleet.onDemandLocations, 'on-demand');
    for (
      let count = fleet.aliveOnDemand.length;
      count < floor && onDemandLocation && room > 0;
      count++, room--
    ) {
      actions.push({
        type: 'launch',
        location: onDemandLocation.id,
        capacityType: 'on-demand',
        reason: `on-demand floor ${count + 1}/${floor}`,
      });
    }
    const cooling = new Set(
      [...this.#coolingUntil].filter(([, until]) => until > view.now).map(([location]) => location),
    );
    const spotLocation: LocationView | undefined = cheapestLocation(
      fleet.spotLocations,
      'spot',
      cooling,
    );
    for (
      let count = fleet.aliveSpot.length;
      count < spotWanted && spotLocation && room > 0;
      count++, room--
    ) {
      const why = cooling.has(spotLocation.id)
        ? 'every location is cooling down; cheapest anyway'
        : 'cheapest spot location not cooling down';
      actions.push({
        type: 'launch',
        location: spotLocation.id,
        capacityType: 'spot',
        reason: `spot ${count + 1}/${spotWanted}: ${why}`,
      });
    }
    return { actions };
  }

  snapshot(): JsonValue {
    return { coolingUntil: Object.fromEntries(this.#coolingUntil) };
  }

  restore(state: JsonValue): void {
    const cooling =
      typeof state === 'object' && state !== null && !Array.isArray(state)
        ? (state as Record<string, JsonValue>)['coolingUntil']
        : undefined;
    if (
      typeof cooling !== 'object' ||
      cooling === null ||
      Array.isArray(cooling) ||
      !Object.values(cooling).every((until) => typeof until === 'number')
    ) {
      throw new InvalidArgumentError(
        `Expected a ${this.name} snapshot, got ${describeValue(state)}`,
        { argument: 'state', value: state },
      );
    }
    this.#coolingUntil = new Map(Object.entries(cooling as Record<string, number>));
  }
}
