import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { SeededRandom } from '../random.js';
import {
  LeastLoadBalancer,
  RoundRobinBalancer,
  createLoadBalancer,
  type BalancerCandidate,
  type LoadBalancer,
  type RoutableReplica,
} from './load-balancer.js';

function replica(id: string): RoutableReplica {
  return { id, endpoint: `http://127.0.0.1/${id}`, location: 'fake/r/z', capacityType: 'spot' };
}

const a = replica('a');
const b = replica('b');
const c = replica('c');

function candidates(loads: Record<string, number>): BalancerCandidate[] {
  return Object.entries(loads).map(([id, inFlight]) => ({ replica: replica(id), inFlight }));
}

function counts(balancer: LoadBalancer, list: readonly BalancerCandidate[], picks: number) {
  const result: Record<string, number> = {};
  for (let index = 0; index < picks; index++) {
    const chosen = balancer.pick(list)!;
    result[chosen.id] = (result[chosen.id] ?? 0) + 1;
  }
  return result;
}

describe('LeastLoadBalancer', () => {
  it('picks the replica with the fewest requests in flight', () => {
    const balancer = new LeastLoadBalancer();
    const list = [
      { replica: a, inFlight: 3 },
      { replica: b, inFlight: 1 },
      { replica: c, inFlight: 2 },
    ];
    for (let index = 0; index < 10; index++) expect(balancer.pick(list)).toBe(b);
  });

  it('rotates among equally loaded replicas', () => {
    const balancer = new LeastLoadBalancer();
    expect(counts(balancer, candidates({ a: 0, b: 0, c: 0 }), 300)).toEqual({
      a: 100,
      b: 100,
      c: 100,
    });
    expect(counts(balancer, candidates({ a: 1, b: 0, c: 0 }), 100)).toEqual({ b: 50, c: 50 });
  });

  it('breaks ties with a seeded generator reproducibly', () => {
    const first = counts(
      new LeastLoadBalancer({ random: new SeededRandom(7) }),
      candidates({ a: 0, b: 0 }),
      1000,
    );
    const second = counts(
      new LeastLoadBalancer({ random: new SeededRandom(7) }),
      candidates({ a: 0, b: 0 }),
      1000,
    );
    expect(first).toEqual(second);
    expect(first.a).toBeGreaterThan(400);
    expect(first.b).toBeGreaterThan(400);
  });

  it('keeps load even when it drives the counts itself', () => {
    const balancer = new LeastLoadBalancer();
    const load = new Map([a, b, c].map((r) => [r, 0]));
    for (let index = 0; index < 30; index++) {
      const chosen = balancer.pick([...load].map(([r, inFlight]) => ({ replica: r, inFlight })))!;
      load.set(chosen, load.get(chosen)! + 1);
    }
    expect([...load.values()]).toEqual([10, 10, 10]);
  });

  it('returns undefined without candidates and never mutates them', () => {
    const balancer = new LeastLoadBalancer();
    expect(balancer.pick([])).toBeUndefined();
    const list = Object.freeze([Object.freeze({ replica: a, inFlight: 0 })]);
    expect(balancer.pick(list)).toBe(a);
  });
});

describe('RoundRobinBalancer', () => {
  it('takes candidates in turn regardless of load', () => {
    const balancer = new RoundRobinBalancer();
    const list = [
      { replica: a, inFlight: 100 },
      { replica: b, inFlight: 0 },
      { replica: c, inFlight: 0 },
    ];
    expect([1, 2, 3, 4, 5, 6].map(() => balancer.pick(list)!.id)).toEqual([
      'a',
      'b',
      'c',
      'a',
      'b',
      'c',
    ]);
    expect(balancer.pick([])).toBeUndefined();
  });
});

describe('createLoadBalancer', () => {
  it('resolves names and passes custom balancers through', () => {
    expect(createLoadBalancer('least-load')).toBeInstanceOf(LeastLoadBalancer);
    expect(createLoadBalancer('round-robin')).toBeInstanceOf(RoundRobinBalancer);
    const custom: LoadBalancer = { name: 'first', pick: (list) => list[0]?.replica };
    expect(createLoadBalancer(custom)).toBe(custom);
  });

  it('rejects unknown names with a typed error naming the value', () => {
    expect(() => createLoadBalancer('random' as never)).toThrowError(/`loadBalancing`.*"random"/);
    try {
      createLoadBalancer({} as never);
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
    }
  });
});
