import type { CapacityType, InstanceState } from '@spothedge/core';

/** What decides an instance's state: the model's provisioning state and the power state. */
export interface VmStateInput {
  /** `properties.provisioningState`: Creating, Updating, Succeeded, Failed, Deleting, … */
  readonly provisioningState?: string | undefined;
  /** Instance view status codes, e.g. `ProvisioningState/succeeded`, `PowerState/running`. */
  readonly statusCodes: readonly string[];
  readonly capacityType: CapacityType;
}

/** Our state plus the Azure status that explains it. */
export interface VmState {
  readonly state: InstanceState;
  readonly reason: string | undefined;
}

/**
 * Maps Azure's provisioning and power state to an {@link InstanceState}. A Spot VM that
 * Azure deallocated (eviction policy `Deallocate`) is `preempted`; we never deallocate.
 * A Spot VM evicted under policy `Delete` disappears from the list instead.
 */
export function mapVmState(input: VmStateInput): VmState {
  const power = input.statusCodes.find((code) => code.startsWith('PowerState/'));
  const provisioningCode =
    input.statusCodes.find((code) => code.startsWith('ProvisioningState/')) ??
    (input.provisioningState === undefined
      ? undefined
      : `ProvisioningState/${input.provisioningState.toLowerCase()}`);
  const provisioning = (
    input.provisioningState ??
    provisioningCode?.split('/')[1] ??
    ''
  ).toLowerCase();

  if (provisioning === 'deleting' || provisioningCode?.startsWith('ProvisioningState/deleting')) {
    return { state: 'stopping', reason: 'ProvisioningState/deleting' };
  }
  if (provisioning === 'failed' || provisioningCode?.startsWith('ProvisioningState/failed')) {
    return { state: 'terminated', reason: provisioningCode ?? 'ProvisioningState/failed' };
  }
  switch (power) {
    case 'PowerState/running':
      return provisioning === 'creating'
        ? { state: 'pending', reason: power }
        : { state: 'running', reason: power };
    case 'PowerState/starting':
      return { state: 'pending', reason: power };
    case 'PowerState/stopping':
      return { state: 'stopping', reason: power };
    case 'PowerState/deallocating':
      return { state: 'stopping', reason: power };
    case 'PowerState/deallocated':
      return input.capacityType === 'spot'
        ? { state: 'preempted', reason: power }
        : { state: 'terminated', reason: power };
    case 'PowerState/stopped':
      return { state: 'terminated', reason: power };
    default:
      // No power state yet (still creating) or `PowerState/unknown`.
      return { state: 'pending', reason: power ?? provisioningCode };
  }
}
