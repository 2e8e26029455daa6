import { describe, expect, it } from 'vitest';
import { InvalidSpecError } from '../errors.js';
import { parseSkyServeYaml } from './skyserve-yaml.js';

// Shaped like SkyServe's documented examples (SpotHedge section of its docs).
const spotHedgeYaml = `
name: llama3
service:
  readiness_probe:
    path: /v1/chat/completions
    post_data:
      model: meta-llama/Meta-Llama-3-8B-Instruct
      messages:
        - role: user
          content: Hello! What is your name?
      max_tokens: 1
    initial_delay_seconds: 600
    timeout_seconds: 30
    headers:
      Authorization: Bearer token
  replica_policy:
    min_replicas: 2
    max_replicas: 6
    target_qps_per_replica: 2.5
    upscale_delay_seconds: 120
    downscale_delay_seconds: 900
    base_ondemand_fallback_replicas: 1
    dynamic_ondemand_fallback: true
    num_overprovision: 1
    spot_placer: dynamic_fallback
  load_balancing_policy: round_robin
resources:
  use_spot: true
  instance_type: g5.2xlarge
  accelerators: A10G:1
  ports: 8081
  any_of:
    - infra: aws/us-east-1/us-east-1a
    - cloud: aws
      region: us-east-1
      zone: us-east-1b
    - infra: gcp/us-central1
envs:
  MODEL_NAME: meta-llama/Meta-Llama-3-8B-Instruct
setup: pip install vllm
run: |
  python -m vllm.entrypoints.openai.api_server --model $MODEL_NAME --port 8081
`;

function issuesOf(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(InvalidSpecError.isInstance(error)).toBe(true);
    return [...(error as InvalidSpecError).issues];
  }
  throw new Error('expected an InvalidSpecError');
}

describe('parseSkyServeYaml', () => {
  it('maps a SpotHedge service YAML', () => {
    const spec = parseSkyServeYaml(spotHedgeYaml);
    expect(spec.name).toBe('llama3');
    expect(spec.replicas).toEqual({ min: 2, max: 6 });
    expect(spec.targetQpsPerReplica).toBe(2.5);
    expect(spec.upscaleDelaySeconds).toBe(120);
    expect(spec.downscaleDelaySeconds).toBe(900);
    expect(spec.spot).toEqual({
      enabled: true,
      overprovision: 1,
      baseOnDemand: 1,
      dynamicFallback: true,
      placement: 'cheapest',
    });
    expect(spec.loadBalancing).toBe('round-robin');
    expect(spec.instanceType).toBe('g5.2xlarge');
    expect(spec.port).toBe(8081);
    expect(spec.locations).toEqual([
      'aws/us-east-1/us-east-1a',
      'aws/us-east-1/us-east-1b',
      'gcp/us-central1',
    ]);
    expect(spec.readinessProbe).toMatchObject({
      path: '/v1/chat/completions',
      method: 'POST',
      initialDelaySeconds: 600,
      timeoutSeconds: 30,
      headers: { Authorization: 'Bearer token' },
    });
    expect(spec.readinessProbe.body).toMatchObject({ max_tokens: 1 });
    expect(spec.startupScript).toBe(
      "export MODEL_NAME='meta-llama/Meta-Llama-3-8B-Instruct'\npip install vllm\n" +
        'python -m vllm.entrypoints.openai.api_server --model $MODEL_NAME --port 8081\n',
    );
  });

  it('takes one instance type per cloud from any_of entries', () => {
    const yaml = (anyOf: string) => `
service: { readiness_probe: /health, replicas: 2 }
resources:
  use_spot: true
  any_of:
${anyOf}`;
    const spec = parseSkyServeYaml(
      yaml(`    - { infra: aws/us-east-1, instance_type: g5.xlarge }
    - { infra: gcp/us-central1, instance_type: g2-standard-8 }
    - { infra: gcp/us-east1, instance_type: g2-standard-8 }`),
      { name: 'chat' },
    );
    expect(spec.instanceType).toEqual(['g5.xlarge', 'g2-standard-8']);
    expect(spec.locations).toEqual(['aws/us-east-1', 'gcp/us-central1', 'gcp/us-east1']);
    // One type in all: a plain string.
    const one = parseSkyServeYaml(
      yaml(`    - { infra: aws/us-east-1, instance_type: g5.xlarge }`),
      {
        name: 'chat',
      },
    );
    expect(one.instanceType).toBe('g5.xlarge');
    // Unknown keys in an entry are still named.
    expect(
      issuesOf(() =>
        parseSkyServeYaml(yaml(`    - { infra: aws/us-east-1, instance_typ: g5.xlarge }`), {
          name: 'chat',
        }),
      ).map((issue) => issue.message),
    ).toContainEqual(expect.stringContaining('`resources.any_of.0.instance_typ`'));
  });

  it('maps a minimal YAML with a string probe and fixed replicas, with SkyServe defaults', () => {
    const spec = parseSkyServeYaml(
      `
service:
  readiness_probe: /health
  replicas: 2
resources:
  instance_type: n2-standard-4
  cloud: gcp
  region: us-central1
  zone: us-central1-a
  ports: "8080"
`,
      { name: 'hello' },
    );
    expect(spec.replicas).toEqual({ min: 2, max: 2 });
    expect(spec.readinessProbe.path).toBe('/health');
    expect(spec.readinessProbe.method).toBe('GET');
    expect(spec.spot).toMatchObject({ enabled: false, overprovision: 0, dynamicFallback: false });
    expect(spec.locations).toEqual(['gcp/us-central1/us-central1-a']);
    expect(spec.port).toBe(8080);
  });

  it('accepts a parsed object and overrides that fill gaps', () => {
    const spec = parseSkyServeYaml(
      { service: { readiness_probe: '/', replicas: 1 }, resources: { use_spot: true } },
      {
        name: 'svc',
        instanceType: 'm5.large',
        locations: ['aws/us-west-2/us-west-2a'],
        spot: { overprovision: 2 },
      },
    );
    expect(spec.spot).toMatchObject({ enabled: true, overprovision: 2 });
    expect(spec.locations).toEqual(['aws/us-west-2/us-west-2a']);
  });

  it('names unknown keys at every level', () => {
    const issues = issuesOf(() =>
      parseSkyServeYaml(
        `
name: x
workdir: .
service:
  readiness_probe: { path: /, period: 3 }
  replica_policy: { min_replicas: 1, max_replica: 2 }
  tls: {}
resources: { instance_type: t3.micro, infra: aws/us-east-1, use_gpu: true }
`,
      ),
    );
    const messages = issues.map((issue) => issue.message).join('\n');
    for (const key of [
      '`workdir`',
      '`service.tls`',
      '`service.readiness_probe.period`',
      '`service.replica_policy.max_replica`',
      '`resources.use_gpu`',
    ]) {
      expect(messages).toContain(key);
    }
  });

  it('reports validation errors under the YAML key names', () => {
    const issues = issuesOf(() =>
      parseSkyServeYaml(`
name: svc
service:
  readiness_probe: /
  replica_policy: { min_replicas: 3, max_replicas: 2, target_qps_per_replica: 1 }
  load_balancing_policy: fastest
resources: { use_spot: true, instance_type: t3.micro, infra: aws/us-east-1 }
`),
    );
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['service.replica_policy.max_replicas']).toBe(
      'Expected `service.replica_policy.max_replicas` to be an integer >= `service.replica_policy.min_replicas` (3), got `2` (number)',
    );
    expect(byPath['service.load_balancing_policy']).toContain('got `"fastest"` (string)');
  });

  it('rejects fallback without spot, both replicas and replica_policy, missing parts', () => {
    const fallbackIssues = issuesOf(() =>
      parseSkyServeYaml(`
name: svc
service:
  readiness_probe: /
  replica_policy: { min_replicas: 1, dynamic_ondemand_fallback: true }
resources: { instance_type: t3.micro, infra: aws/us-east-1 }
`),
    );
    expect(fallbackIssues.map((issue) => issue.path)).toContain('resources.use_spot');
    const bothIssues = issuesOf(() =>
      parseSkyServeYaml(`
name: svc
service: { replicas: 2, replica_policy: { min_replicas: 1 } }
resources: { instance_type: t3.micro, infra: aws/us-east-1 }
`),
    );
    expect(bothIssues.map((issue) => issue.path)).toContain('service.replicas');
    const missing = issuesOf(() =>
      parseSkyServeYaml('service: { replicas: 1 }\nresources: { cloud: aws }'),
    );
    const paths = missing.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'resources', 'resources.instance_type']));
  });

  it('rejects malformed YAML and a non-mapping', () => {
    expect(issuesOf(() => parseSkyServeYaml('service: [unclosed'))[0]!.message).toMatch(
      /^Expected valid YAML/,
    );
    expect(issuesOf(() => parseSkyServeYaml('- a\n- b'))[0]!.message).toContain('(array)');
  });
});
