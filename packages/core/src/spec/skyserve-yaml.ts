/**
 * Reads a SkyServe service YAML (`service:` plus what of `resources:` maps) into a
 * {@link ServiceSpec}, so SkyServe users can move over. Errors name the YAML key
 * (`service.replica_policy.max_replicas`), not ours.
 */
import { parse as parseYaml } from 'yaml';
import { InvalidSpecError, describeValue } from '../errors.js';
import type { Issue } from '../errors.js';
import { serviceSpecSchema } from './service-spec.js';
import type { ServiceSpec, ServiceSpecInput } from './service-spec.js';
import { toIssues } from './spec-issues.js';

/** Fields that replace (or, for `spot`/`readinessProbe`/`replicas` objects, merge into) the YAML's. */
export type SkyServeYamlOverrides = Partial<ServiceSpecInput>;

type Record_ = Record<string, unknown>;

const TOP_LEVEL_KEYS = ['name', 'service', 'resources', 'setup', 'run', 'envs', 'num_nodes'];
const SERVICE_KEYS = [
  'readiness_probe',
  'replicas',
  'replica_policy',
  'load_balancing_policy',
  'ports',
];
const PROBE_KEYS = ['path', 'post_data', 'initial_delay_seconds', 'timeout_seconds', 'headers'];
const POLICY_KEYS = [
  'min_replicas',
  'max_replicas',
  'target_qps_per_replica',
  'upscale_delay_seconds',
  'downscale_delay_seconds',
  'base_ondemand_fallback_replicas',
  'dynamic_ondemand_fallback',
  'num_overprovision',
  'spot_placer',
];
const LOCATION_KEYS = ['cloud', 'region', 'zone', 'infra'];
/** Sizing and disk hints spothedge accepts but does not use (it needs `instance_type`). */
const IGNORED_RESOURCE_KEYS = [
  'accelerators',
  'accelerator_args',
  'cpus',
  'memory',
  'disk_size',
  'disk_tier',
  'image_id',
  'labels',
  'job_recovery',
  'spot_recovery',
];
const ANY_OF_KEYS = [...LOCATION_KEYS, 'instance_type'];
const RESOURCE_KEYS = [
  'use_spot',
  'instance_type',
  'ports',
  'any_of',
  ...LOCATION_KEYS,
  ...IGNORED_RESOURCE_KEYS,
];

const LOAD_BALANCING: Record<string, string> = {
  least_load: 'least-load',
  round_robin: 'round-robin',
};
const SPOT_PLACERS: Record<string, string> = {
  dynamic_fallback: 'cheapest',
};

function isRecord(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses the `service:` section of a SkyServe YAML (text or an already parsed object) and
 * the parts of `resources:` that map, then validates the result as a {@link ServiceSpec}.
 *
 * Mapping: `service.readiness_probe` (a path, or `path`/`post_data`/
 * `initial_delay_seconds`/`timeout_seconds`/`headers`) → `readinessProbe` (POST when
 * `post_data` is set); `service.replicas` → fixed `replicas`; `service.replica_policy`
 * (`min_replicas`, `max_replicas`, `target_qps_per_replica`, `upscale_delay_seconds`,
 * `downscale_delay_seconds`, `base_ondemand_fallback_replicas`,
 * `dynamic_ondemand_fallback`, `num_overprovision`, `spot_placer`) → `replicas`,
 * `targetQpsPerReplica`, the delays and `spot`; `load_balancing_policy` `least_load` /
 * `round_robin` → `loadBalancing`; `service.ports` or `resources.ports` → `port`;
 * `resources.use_spot` → `spot.enabled` (SkyServe's default: false);
 * `resources.instance_type` (and `instance_type` in `any_of` entries: one type per
 * cloud) → `instanceType`; `resources.infra` / `cloud`+`region`+`zone` / `any_of` →
 * `locations`; `name` → `name`; `envs` + `setup` + `run` → `startupScript`.
 * Sizing hints (`accelerators`, `cpus`, `memory`, disks, image, labels) are accepted and
 * ignored. Any other key is an error naming it. `overrides` fill or replace fields, e.g.
 * a `name` or `locations` the YAML lacks.
 *
 * @throws InvalidSpecError naming the YAML keys at fault and their values.
 * @example
 * ```ts
 * const spec = parseSkyServeYaml(
 *   `
 * service:
 *   readiness_probe: /v1/models
 *   replica_policy: { min_replicas: 2, max_replicas: 4, target_qps_per_replica: 3, dynamic_ondemand_fallback: true }
 * resources: { use_spot: true, instance_type: g5.xlarge, cloud: aws, region: us-east-1, ports: 8000 }
 * `,
 *   { name: 'llama' },
 * );
 * ```
 */
export function parseSkyServeYaml(
  source: string | Record_,
  overrides: SkyServeYamlOverrides = {},
): ServiceSpec {
  let document: unknown = source;
  if (typeof source === 'string') {
    try {
      document = parseYaml(source);
    } catch (error) {
      throw new InvalidSpecError(
        [{ path: '', message: `Expected valid YAML: ${(error as Error).message}`, value: source }],
        { cause: error },
      );
    }
  }
  const issues: Issue[] = [];
  /** Our field path → the YAML key it came from, to name YAML keys in errors. */
  const origin = new Map<string, string>([
    // Where a missing field would have come from.
    ['instanceType', 'resources.instance_type'],
    ['locations', 'resources.infra'],
  ]);
  const input: Record_ = {};
  const set = (target: Record_, key: string, value: unknown, ours: string, yaml: string) => {
    if (value === undefined) return;
    target[key] = value;
    origin.set(ours, yaml);
  };
  const checkKeys = (value: Record_, allowed: readonly string[], path: string): void => {
    const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
    if (unknown.length === 0) return;
    issues.push({
      path,
      message:
        `Unknown key${unknown.length === 1 ? '' : 's'} ${unknown.map((key) => `\`${path === '' ? key : `${path}.${key}`}\``).join(', ')} ` +
        `in ${path === '' ? 'the SkyServe YAML' : `\`${path}\``} (supported: ${allowed.join(', ')})`,
      value: unknown,
    });
  };
  const expectRecord = (value: unknown, path: string): Record_ | undefined => {
    if (value === undefined || value === null) return undefined;
    if (isRecord(value)) return value;
    issues.push({
      path,
      message: `Expected \`${path}\` to be a mapping, got ${describeValue(value)}`,
      value,
    });
    return undefined;
  };

  if (!isRecord(document)) {
    throw new InvalidSpecError([
      {
        path: '',
        message: `Expected a SkyServe YAML mapping with a \`service\` section, got ${describeValue(document)}`,
        value: document,
      },
    ]);
  }
  checkKeys(document, TOP_LEVEL_KEYS, '');
  set(input, 'name', document['name'], 'name', 'name');
  if (document['num_nodes'] !== undefined && document['num_nodes'] !== 1) {
    issues.push({
      path: 'num_nodes',
      message: `Expected \`num_nodes\` to be 1 (multi-node replicas are not supported), got ${describeValue(document['num_nodes'])}`,
      value: document['num_nodes'],
    });
  }

  // service:
  const service = expectRecord(document['service'], 'service');
  if (service === undefined && document['service'] === undefined) {
    issues.push({ path: 'service', message: 'Expected a `service` section, but it is missing' });
  }
  const spot: Record_ = {};
  const probe: Record_ = {};
  if (service !== undefined) {
    checkKeys(service, SERVICE_KEYS, 'service');
    const readiness = service['readiness_probe'];
    if (typeof readiness === 'string') {
      set(probe, 'path', readiness, 'readinessProbe.path', 'service.readiness_probe');
    } else {
      const probeSection = expectRecord(readiness, 'service.readiness_probe');
      if (probeSection !== undefined) {
        checkKeys(probeSection, PROBE_KEYS, 'service.readiness_probe');
        const at = (key: string) => `service.readiness_probe.${key}`;
        set(probe, 'path', probeSection['path'], 'readinessProbe.path', at('path'));
        set(probe, 'body', probeSection['post_data'], 'readinessProbe.body', at('post_data'));
        set(
          probe,
          'initialDelaySeconds',
          probeSection['initial_delay_seconds'],
          'readinessProbe.initialDelaySeconds',
          at('initial_delay_seconds'),
        );
        set(
          probe,
          'timeoutSeconds',
          probeSection['timeout_seconds'],
          'readinessProbe.timeoutSeconds',
          at('timeout_seconds'),
        );
        set(probe, 'headers', probeSection['headers'], 'readinessProbe.headers', at('headers'));
      }
    }
    const policy = expectRecord(service['replica_policy'], 'service.replica_policy');
    if (service['replicas'] !== undefined && policy !== undefined) {
      issues.push({
        path: 'service.replicas',
        message: 'Expected only one of `service.replicas` and `service.replica_policy`, got both',
        value: service['replicas'],
      });
    }
    if (service['replicas'] !== undefined) {
      set(input, 'replicas', service['replicas'], 'replicas', 'service.replicas');
      origin.set('replicas.min', 'service.replicas');
      origin.set('replicas.max', 'service.replicas');
    }
    if (policy !== undefined) {
      checkKeys(policy, POLICY_KEYS, 'service.replica_policy');
      const at = (key: string) => `service.replica_policy.${key}`;
      const replicas: Record_ = {};
      set(replicas, 'min', policy['min_replicas'], 'replicas.min', at('min_replicas'));
      set(replicas, 'max', policy['max_replicas'], 'replicas.max', at('max_replicas'));
      input['replicas'] = replicas;
      origin.set('replicas', 'service.replica_policy');
      set(
        input,
        'targetQpsPerReplica',
        policy['target_qps_per_replica'],
        'targetQpsPerReplica',
        at('target_qps_per_replica'),
      );
      set(
        input,
        'upscaleDelaySeconds',
        policy['upscale_delay_seconds'],
        'upscaleDelaySeconds',
        at('upscale_delay_seconds'),
      );
      set(
        input,
        'downscaleDelaySeconds',
        policy['downscale_delay_seconds'],
        'downscaleDelaySeconds',
        at('downscale_delay_seconds'),
      );
      set(
        spot,
        'baseOnDemand',
        policy['base_ondemand_fallback_replicas'],
        'spot.baseOnDemand',
        at('base_ondemand_fallback_replicas'),
      );
      set(
        spot,
        'dynamicFallback',
        policy['dynamic_ondemand_fallback'],
        'spot.dynamicFallback',
        at('dynamic_ondemand_fallback'),
      );
      set(
        spot,
        'overprovision',
        policy['num_overprovision'],
        'spot.overprovision',
        at('num_overprovision'),
      );
      const placer = policy['spot_placer'];
      set(
        spot,
        'placement',
        typeof placer === 'string' ? (SPOT_PLACERS[placer] ?? placer) : placer,
        'spot.placement',
        at('spot_placer'),
      );
    }
    const balancing = service['load_balancing_policy'];
    set(
      input,
      'loadBalancing',
      typeof balancing === 'string' ? (LOAD_BALANCING[balancing] ?? balancing) : balancing,
      'loadBalancing',
      'service.load_balancing_policy',
    );
    set(input, 'port', portOf(service['ports']), 'port', 'service.ports');
  }
  // SkyServe's defaults differ from ours: no overprovision, no dynamic fallback.
  const hasDynamicFallback = spot['dynamicFallback'] === true;
  spot['dynamicFallback'] ??= false;
  spot['overprovision'] ??= 0;

  // resources:
  const resources = expectRecord(document['resources'], 'resources');
  if (resources !== undefined) {
    checkKeys(resources, RESOURCE_KEYS, 'resources');
    set(spot, 'enabled', resources['use_spot'], 'spot.enabled', 'resources.use_spot');
    set(
      input,
      'instanceType',
      resources['instance_type'],
      'instanceType',
      'resources.instance_type',
    );
    if (input['port'] === undefined) {
      set(input, 'port', portOf(resources['ports']), 'port', 'resources.ports');
    }
    const locations: string[] = [];
    const addLocation = (section: Record_, path: string) => {
      const location = locationOf(section, path, issues);
      if (location !== undefined) locations.push(location);
    };
    if (LOCATION_KEYS.some((key) => resources[key] !== undefined)) {
      addLocation(resources, 'resources');
    }
    // `instance_type` in `any_of` entries: one type per cloud, beside the top-level one.
    const instanceTypes: unknown[] =
      resources['instance_type'] === undefined ? [] : [resources['instance_type']];
    const anyOf = resources['any_of'];
    if (anyOf !== undefined) {
      if (!Array.isArray(anyOf)) {
        issues.push({
          path: 'resources.any_of',
          message: `Expected \`resources.any_of\` to be a list, got ${describeValue(anyOf)}`,
          value: anyOf,
        });
      } else {
        anyOf.forEach((item, index) => {
          const path = `resources.any_of.${index}`;
          const section = expectRecord(item, path);
          if (section === undefined) return;
          checkKeys(section, ANY_OF_KEYS, path);
          if (LOCATION_KEYS.some((key) => section[key] !== undefined)) addLocation(section, path);
          const type = section['instance_type'];
          if (type !== undefined && !instanceTypes.includes(type)) instanceTypes.push(type);
        });
      }
    }
    if (instanceTypes.length > 1 || input['instanceType'] === undefined) {
      // A list when there are several; the one an `any_of` entry names otherwise.
      const types = instanceTypes.length > 1 ? instanceTypes : instanceTypes[0];
      set(input, 'instanceType', types, 'instanceType', 'resources.any_of');
    }
    if (locations.length > 0) {
      input['locations'] = locations;
      origin.set('locations', 'resources');
    }
  }
  spot['enabled'] ??= false;
  // SkyServe's rule: on-demand fallback options need spot replicas.
  if (
    spot['enabled'] === false &&
    (hasDynamicFallback || (typeof spot['baseOnDemand'] === 'number' && spot['baseOnDemand'] > 0))
  ) {
    issues.push({
      path: 'resources.use_spot',
      message:
        'Expected `resources.use_spot` to be true when `base_ondemand_fallback_replicas` or `dynamic_ondemand_fallback` is set, got ' +
        describeValue(resources?.['use_spot']),
      value: resources?.['use_spot'],
    });
  }

  const script = startupScriptOf(document, issues);
  if (script !== undefined) {
    input['startupScript'] = script;
    origin.set('startupScript', 'run');
  }
  input['spot'] = spot;
  input['readinessProbe'] = probe;

  // Overrides win; their fields keep our names in errors.
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = input[key];
    if (isRecord(current) && isRecord(value)) {
      input[key] = { ...current, ...value };
      for (const inner of Object.keys(value)) origin.delete(`${key}.${inner}`);
    } else {
      input[key] = value;
      for (const path of [...origin.keys()]) {
        if (path === key || path.startsWith(`${key}.`)) origin.delete(path);
      }
    }
  }

  const result = serviceSpecSchema.safeParse(input, { reportInput: true });
  if (!result.success)
    issues.push(...toIssues(result.error.issues).map((issue) => rename(issue, origin)));
  if (issues.length > 0) throw new InvalidSpecError(issues);
  return result.data!;
}

/** Renames our field paths to the YAML keys they came from, in the path and the message. */
function rename(issue: Issue, origin: ReadonlyMap<string, string>): Issue {
  const byLength = [...origin.entries()].sort((a, b) => b[0].length - a[0].length);
  let path = issue.path;
  for (const [ours, yaml] of byLength) {
    if (path === ours || path.startsWith(`${ours}.`)) {
      path = yaml + path.slice(ours.length);
      break;
    }
  }
  let message = issue.message;
  for (const [ours, yaml] of byLength) {
    message = message.replaceAll(`\`${ours}\``, `\`${yaml}\``);
  }
  if (path !== issue.path) message = message.replaceAll(`\`${issue.path}\``, `\`${path}\``);
  return { ...issue, path, message };
}

function portOf(ports: unknown): unknown {
  if (ports === undefined || ports === null) return undefined;
  const first = Array.isArray(ports) ? ports[0] : ports;
  if (typeof first === 'string' && /^\d+$/.test(first)) return Number(first);
  return first;
}

/** `infra: aws/us-east-1/us-east-1a`, or `cloud` + `region` (+ `zone`) → a location id. */
function locationOf(section: Record_, path: string, issues: Issue[]): string | undefined {
  const infra = section['infra'];
  let parts: unknown[];
  if (infra !== undefined) {
    if (typeof infra !== 'string') {
      issues.push({
        path: `${path}.infra`,
        message: `Expected \`${path}.infra\` to be a string like \`aws/us-east-1/us-east-1a\`, got ${describeValue(infra)}`,
        value: infra,
      });
      return undefined;
    }
    parts = infra.split('/');
  } else {
    parts = [section['cloud'], section['region'], section['zone']].filter(
      (part) => part !== undefined && part !== null,
    );
  }
  const strings = parts.map((part) => (typeof part === 'number' ? String(part) : part));
  if (strings.length < 2 || strings.some((part) => typeof part !== 'string' || part === '')) {
    issues.push({
      path,
      message: `Expected \`${path}\` to name a cloud and a region (\`infra: cloud/region[/zone]\` or \`cloud\` + \`region\`), got ${describeValue(infra ?? { cloud: section['cloud'], region: section['region'], zone: section['zone'] })}; or pass \`locations\` in the overrides`,
      value: infra ?? section,
    });
    return undefined;
  }
  return (strings as string[]).map((part) => part.toLowerCase()).join('/');
}

/** `envs` exported, then `setup`, then `run`, as one shell script. */
function startupScriptOf(document: Record_, issues: Issue[]): string | undefined {
  const lines: string[] = [];
  const envs = document['envs'];
  if (envs !== undefined && envs !== null) {
    if (!isRecord(envs)) {
      issues.push({
        path: 'envs',
        message: `Expected \`envs\` to be a mapping, got ${describeValue(envs)}`,
        value: envs,
      });
    } else {
      for (const [key, value] of Object.entries(envs)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
          issues.push({
            path: `envs.${key}`,
            message: `Expected \`envs\` keys to be shell variable names, got ${describeValue(key)}`,
            value: key,
          });
          continue;
        }
        const text = value === null || value === undefined ? '' : String(value);
        lines.push(`export ${key}='${text.replaceAll("'", `'"'"'`)}'`);
      }
    }
  }
  for (const key of ['setup', 'run']) {
    const value = document[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      issues.push({
        path: key,
        message: `Expected \`${key}\` to be a string, got ${describeValue(value)}`,
        value,
      });
      continue;
    }
    lines.push(value.trimEnd());
  }
  return lines.length === 0 ? undefined : `${lines.join('\n')}\n`;
}
