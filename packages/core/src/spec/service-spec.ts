/**
 * The service specification: validated once, at the edge, before anything is launched.
 * A zod schema (so users get types and defaults from one source) wrapped by
 * {@link parseServiceSpec}, which throws {@link InvalidSpecError} naming every bad field
 * and the value it got.
 */
import { z } from 'zod';
import { InvalidSpecError } from '../errors.js';
import { toIssues } from './spec-issues.js';

/** Service names: lowercase letters, digits and hyphens; used in ownership tags. */
export const SERVICE_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Location ids: `cloud/region/zone` or `cloud/region`. */
export const LOCATION_ID_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)?$/;

const count = z.int().min(0);
const seconds = z.number().min(0);

const replicasObjectSchema = z
  .strictObject({
    /** Fewest replicas kept ready, even without traffic. */
    min: count,
    /** Most replicas (of all kinds, before overprovisioning); defaults to `min`. */
    max: z.int().min(1).optional(),
  })
  .transform((value, context) => {
    const max = value.max ?? Math.max(value.min, 1);
    if (max < value.min) {
      context.addIssue({
        code: 'custom',
        path: ['max'],
        input: value.max,
        message: `an integer >= \`replicas.min\` (${value.min})`,
      });
      return z.NEVER;
    }
    return { min: value.min, max };
  });

/** Replica bounds: a fixed count, or `{ min, max }`. */
const replicasSchema = z.preprocess(
  (value) => (typeof value === 'number' ? { min: value, max: value } : value),
  replicasObjectSchema,
);

const spotSchema = z.strictObject({
  /** Use spot replicas at all; `false` runs on-demand only. */
  enabled: z.boolean().default(true),
  /** N_extra: spot replicas beyond the target. */
  overprovision: count.default(1),
  /** On-demand replicas always kept. */
  baseOnDemand: count.default(0),
  /** Launch on-demand while spot is not ready; release once it is. */
  dynamicFallback: z.boolean().default(true),
  /** How new spot replicas pick among candidate locations. */
  placement: z.enum(['random', 'cheapest']).default('cheapest'),
});

const probeSchema = z
  .strictObject({
    /** HTTP path probed on each replica. */
    path: z.string().regex(/^\//, { error: 'a path starting with `/`' }).default('/'),
    method: z.enum(['GET', 'POST']).optional(),
    /** JSON body, sent with POST. */
    body: z.json().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Grace period after launch during which failing probes do not count. */
    initialDelaySeconds: seconds.default(1200),
    timeoutSeconds: z.number().positive().default(15),
    periodSeconds: z.number().positive().default(10),
    /** Consecutive failures after which a ready replica counts as not ready. */
    failureThreshold: z.int().min(1).default(3),
  })
  .transform((value, context) => {
    const method = value.method ?? (value.body === undefined ? 'GET' : 'POST');
    if (method === 'GET' && value.body !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['body'],
        input: value.body,
        message: 'absent with method `GET` (a body needs `POST`)',
      });
      return z.NEVER;
    }
    return { ...value, method };
  });

/**
 * The zod schema of a service spec (input → {@link ServiceSpec} with defaults applied).
 * Prefer {@link parseServiceSpec}, which throws the SDK's typed error.
 */
export const serviceSpecSchema = z
  .strictObject({
    /** Service name, used in ownership tags: `[a-z0-9-]`, at most 40 characters. */
    name: z.string().max(40).regex(SERVICE_NAME_PATTERN, {
      error: 'lowercase letters, digits and hyphens, starting and ending with a letter or digit',
    }),
    replicas: replicasSchema.prefault({ min: 1 }),
    /** Requests per second one replica handles; enables request-rate autoscaling. */
    targetQpsPerReplica: z.number().positive().optional(),
    upscaleDelaySeconds: seconds.default(300),
    downscaleDelaySeconds: seconds.default(1200),
    spot: spotSchema.prefault({}),
    /** Candidate locations, e.g. `aws/us-east-1/us-east-1a`. */
    locations: z
      .array(
        z.string().regex(LOCATION_ID_PATTERN, {
          error: 'a location id like `cloud/region/zone` or `cloud/region`',
        }),
      )
      .min(1),
    /**
     * Instance type, or several (one per cloud, for a service across clouds): in each
     * location the cheapest offered one of them is used.
     */
    instanceType: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
      error: 'a string (or a list of them, one per cloud)',
    }),
    /** Port the replicas serve on. */
    port: z.int().min(1).max(65535).default(8080),
    /** Shell script run on each replica at boot (installs and starts the model server). */
    startupScript: z.string().optional(),
    readinessProbe: probeSchema.prefault({}),
    loadBalancing: z.enum(['least-load', 'round-robin']).default('least-load'),
  })
  .superRefine((spec, context) => {
    if (spec.replicas.max > spec.replicas.min && spec.targetQpsPerReplica === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['targetQpsPerReplica'],
        input: undefined,
        message: `set when \`replicas.max\` (${spec.replicas.max}) > \`replicas.min\` (${spec.replicas.min}), to drive autoscaling`,
      });
    }
    if (spec.spot.baseOnDemand > spec.replicas.max) {
      context.addIssue({
        code: 'custom',
        path: ['spot', 'baseOnDemand'],
        input: spec.spot.baseOnDemand,
        message: `an integer <= \`replicas.max\` (${spec.replicas.max})`,
      });
    }
    const seen = new Set<string>();
    spec.locations.forEach((location, index) => {
      if (seen.has(location)) {
        context.addIssue({
          code: 'custom',
          path: ['locations', index],
          input: location,
          message: 'listed once (duplicate location)',
        });
      }
      seen.add(location);
    });
  });

/** A validated service spec with every default applied. */
export type ServiceSpec = z.output<typeof serviceSpecSchema>;

/** What a user writes: {@link ServiceSpec} with optional fields and shorthands. */
export type ServiceSpecInput = z.input<typeof serviceSpecSchema>;

/**
 * Validates `input` and applies defaults:
 * `replicas` 1 (a number means a fixed count, `{ min }` alone means max = min),
 * `upscaleDelaySeconds` 300, `downscaleDelaySeconds` 1200, `spot` enabled with
 * overprovision 1, baseOnDemand 0, dynamicFallback true, placement `cheapest`; `port`
 * 8080; readiness probe `GET /` (POST when a body is given), initial delay 1200 s,
 * timeout 15 s, period 10 s, failure threshold 3; `loadBalancing` `least-load`.
 *
 * @throws InvalidSpecError listing every problem, each naming the field and the value.
 * @example
 * ```ts
 * const spec = parseServiceSpec({
 *   name: 'llama',
 *   replicas: { min: 2, max: 6 },
 *   targetQpsPerReplica: 2.5,
 *   locations: ['aws/us-east-1/us-east-1a', 'aws/us-east-1/us-east-1b'],
 *   instanceType: 'g5.xlarge',
 *   readinessProbe: { path: '/v1/models', initialDelaySeconds: 300 },
 * });
 * ```
 */
export function parseServiceSpec(input: unknown): ServiceSpec {
  const result = serviceSpecSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new InvalidSpecError(toIssues(result.error.issues));
  return result.data;
}
