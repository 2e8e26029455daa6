import { describe, expect, it } from 'vitest';
import { IllegalStateError } from '../errors.js';
import { isFinalStatus, transition } from './replica-state.js';
import type { ReplicaState, ReplicaTransitionEvent } from './replica-state.js';

const pending: ReplicaState = { status: 'pending' };
const provisioning: ReplicaState = { status: 'provisioning', instanceId: 'i-1' };
const starting: ReplicaState = { status: 'starting', instanceId: 'i-1', runningAt: 10 };
const ready: ReplicaState = { status: 'ready', instanceId: 'i-1', runningAt: 10, readyAt: 20 };
const notReady: ReplicaState = {
  status: 'not-ready',
  instanceId: 'i-1',
  runningAt: 10,
  readyAt: 20,
  failures: 1,
};
const draining: ReplicaState = { status: 'draining', instanceId: 'i-1', until: 99, reason: 'down' };
const terminating: ReplicaState = { status: 'terminating', instanceId: 'i-1', reason: 'down' };
const terminated: ReplicaState = { status: 'terminated', reason: 'down' };
const preempted: ReplicaState = { status: 'preempted', at: 5, reason: 'reclaimed' };
const failed: ReplicaState = { status: 'failed', reason: 'boom' };

const states = {
  pending,
  provisioning,
  starting,
  ready,
  'not-ready': notReady,
  draining,
  terminating,
  terminated,
  preempted,
  failed,
} as const;

const events: Record<ReplicaTransitionEvent['type'], ReplicaTransitionEvent> = {
  'instance-pending': { type: 'instance-pending', instanceId: 'i-1' },
  'instance-running': { type: 'instance-running', instanceId: 'i-1', at: 30 },
  'probe-pass': { type: 'probe-pass', at: 40 },
  'probe-fail': { type: 'probe-fail', at: 40 },
  drain: { type: 'drain', until: 100, reason: 'scale down' },
  terminate: { type: 'terminate', reason: 'scale down' },
  terminated: { type: 'terminated' },
  preempt: { type: 'preempt', at: 50, reason: 'capacity' },
  fail: { type: 'fail', reason: 'unhealthy' },
};

/** Expected status after each event from each status; `null` = illegal. */
const table: Record<keyof typeof states, Record<keyof typeof events, string | null>> = {
  pending: {
    'instance-pending': 'provisioning',
    'instance-running': 'starting',
    'probe-pass': null,
    'probe-fail': null,
    drain: null,
    terminate: 'terminating',
    terminated: null,
    preempt: 'preempted',
    fail: 'failed',
  },
  provisioning: {
    'instance-pending': 'provisioning',
    'instance-running': 'starting',
    'probe-pass': null,
    'probe-fail': null,
    drain: null,
    terminate: 'terminating',
    terminated: null,
    preempt: 'preempted',
    fail: 'failed',
  },
  starting: {
    'instance-pending': null,
    'instance-running': 'starting',
    'probe-pass': 'ready',
    'probe-fail': 'starting',
    drain: null,
    terminate: 'terminating',
    terminated: null,
    preempt: 'preempted',
    fail: 'failed',
  },
  ready: {
    'instance-pending': null,
    'instance-running': 'ready',
    'probe-pass': 'ready',
    'probe-fail': 'not-ready',
    drain: 'draining',
    terminate: 'terminating',
    terminated: null,
    preempt: 'preempted',
    fail: 'failed',
  },
  'not-ready': {
    'instance-pending': null,
    'instance-running': 'not-ready',
    'probe-pass': 'ready',
    'probe-fail': 'not-ready',
    drain: 'draining',
    terminate: 'terminating',
    terminated: null,
    preempt: 'preempted',
    fail: 'failed',
  },
  draining: {
    'instance-pending': null,
    'instance-running': 'draining',
    'probe-pass': null,
    'probe-fail': null,
    drain: 'draining',
    terminate: 'terminating',
    terminated: null,
    preempt: 'preempted',
    fail: 'failed',
  },
  terminating: {
    'instance-pending': null,
    'instance-running': 'terminating',
    'probe-pass': null,
    'probe-fail': null,
    drain: null,
    terminate: 'terminating',
    terminated: 'terminated',
    preempt: null,
    fail: null,
  },
  terminated: {
    'instance-pending': null,
    'instance-running': null,
    'probe-pass': null,
    'probe-fail': null,
    drain: null,
    terminate: null,
    terminated: null,
    preempt: null,
    fail: null,
  },
  preempted: {
    'instance-pending': null,
    'instance-running': null,
    'probe-pass': null,
    'probe-fail': null,
    drain: null,
    terminate: null,
    terminated: null,
    preempt: null,
    fail: null,
  },
  failed: {
    'instance-pending': null,
    'instance-running': null,
    'probe-pass': null,
    'probe-fail': null,
    drain: null,
    terminate: null,
    terminated: null,
    preempt: null,
    fail: null,
  },
};

describe('transition', () => {
  for (const [from, row] of Object.entries(table)) {
    for (const [eventType, expected] of Object.entries(row)) {
      const state = states[from as keyof typeof states];
      const event = events[eventType as keyof typeof events];
      if (expected === null) {
        it(`${from} --${eventType}--> IllegalStateError`, () => {
          expect(() => transition(state, event)).toThrowError(IllegalStateError);
          try {
            transition(state, event);
          } catch (error) {
            expect(IllegalStateError.isInstance(error)).toBe(true);
            expect((error as IllegalStateError).state).toBe(from);
            expect((error as Error).message).toContain(eventType);
          }
        });
      } else {
        it(`${from} --${eventType}--> ${expected}`, () => {
          const next = transition(state, event);
          expect(next.status).toBe(expected);
          if (expected === from) expect(next === state || from === 'not-ready').toBe(true);
        });
      }
    }
  }

  it('is pure: the input snapshot is not mutated', () => {
    const before = structuredClone(notReady);
    transition(notReady, events['probe-fail']);
    expect(notReady).toEqual(before);
  });

  it('counts consecutive probe failures and keeps readyAt across recovery', () => {
    let state: ReplicaState = ready;
    state = transition(state, events['probe-fail']);
    state = transition(state, events['probe-fail']);
    expect(state).toMatchObject({ status: 'not-ready', failures: 2, readyAt: 20 });
    state = transition(state, events['probe-pass']);
    expect(state).toEqual({ status: 'ready', instanceId: 'i-1', runningAt: 10, readyAt: 20 });
  });

  it('rejects an instance id that does not match the tracked one', () => {
    expect(() =>
      transition(starting, { type: 'instance-running', instanceId: 'i-2', at: 1 }),
    ).toThrowError(IllegalStateError);
  });

  it('final statuses', () => {
    expect(['terminated', 'preempted', 'failed'].every((s) => isFinalStatus(s as never))).toBe(
      true,
    );
    expect(isFinalStatus('ready')).toBe(false);
  });
});
