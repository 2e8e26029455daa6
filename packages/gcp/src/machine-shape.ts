/** vCPUs, memory and bundled GPUs of a machine type, as needed to price it. */
export interface MachineShape {
  readonly vcpus: number;
  readonly memoryGb: number;
  /** GPUs that come with the machine type (G2, A2, A3), e.g. `{ type: 'nvidia-l4', count: 1 }`. */
  readonly gpus?: readonly { readonly type: string; readonly count: number }[] | undefined;
}

const MEMORY_PER_VCPU: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  standard: { n1: 3.75, default: 4 },
  highmem: { n1: 6.5, default: 8 },
  highcpu: { n1: 0.9, default: 1 },
};

const G2_GPUS: Readonly<Record<number, number>> = {
  4: 1,
  8: 1,
  12: 1,
  16: 1,
  32: 1,
  24: 2,
  48: 4,
  96: 8,
};

const SHARED_CORE: Readonly<Record<string, MachineShape>> = {
  'e2-micro': { vcpus: 2, memoryGb: 1 },
  'e2-small': { vcpus: 2, memoryGb: 2 },
  'e2-medium': { vcpus: 2, memoryGb: 4 },
  'f1-micro': { vcpus: 1, memoryGb: 0.6 },
  'g1-small': { vcpus: 1, memoryGb: 1.7 },
};

/** The series of a machine type: `n2-standard-8` → `n2`. */
export function machineSeries(machineType: string): string {
  return machineType.split('-')[0] ?? machineType;
}

/**
 * The shape of a predefined machine type, parsed from its name
 * (`<series>-<standard|highmem|highcpu>-<vcpus>`, `g2-standard-<n>`, `a2-highgpu-<n>g`,
 * `a2-ultragpu-<n>g`, shared-core types). `undefined` for names it does not know; give
 * the shape in the settings then.
 */
export function parseMachineShape(machineType: string): MachineShape | undefined {
  const shared = SHARED_CORE[machineType];
  if (shared !== undefined) return shared;
  const a2 = /^a2-(highgpu|ultragpu|megagpu)-(\d+)g$/.exec(machineType);
  if (a2 !== null) {
    const count = Number(a2[2]);
    const ultra = a2[1] === 'ultragpu';
    return {
      vcpus: 12 * count,
      memoryGb: (ultra ? 170 : 85) * count,
      gpus: [{ type: ultra ? 'nvidia-a100-80gb' : 'nvidia-tesla-a100', count }],
    };
  }
  const match = /^([a-z][a-z0-9]*)-(standard|highmem|highcpu)-(\d+)$/.exec(machineType);
  if (match === null) return undefined;
  const [, series = '', family = '', vcpuText = ''] = match;
  const vcpus = Number(vcpuText);
  const perVcpu = MEMORY_PER_VCPU[family]!;
  const memoryGb = vcpus * (perVcpu[series] ?? perVcpu['default']!);
  if (series === 'g2') {
    const count = G2_GPUS[vcpus];
    return count === undefined
      ? undefined
      : { vcpus, memoryGb, gpus: [{ type: 'nvidia-l4', count }] };
  }
  return { vcpus, memoryGb };
}
