/**
 * The preemption case: a replica process is SIGKILLed under steady load while another is
 * ready. Idempotent requests and POSTs that never reached the dead replica must all
 * succeed; POSTs the dead replica had received must fail with a typed error and must not
 * be resent anywhere.
 */
import { afterEach, expect, it } from 'vitest';
import { Router, UpstreamError } from '../../packages/core/src/index.js';
import { startReplicaProcess, until, type ReplicaProcess } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Outcome {
  readonly id: string;
  readonly method: 'GET' | 'POST';
  readonly ok: boolean;
  readonly error?: unknown;
  readonly servedBy?: string;
}

it('loses no idempotent request and no unsent POST when a replica is SIGKILLed under load', async () => {
  const doomed = await startReplicaProcess('doomed');
  const survivor = await startReplicaProcess('survivor');
  const processes: ReplicaProcess[] = [doomed, survivor];
  cleanups.push(() => processes.forEach((process) => process.stop()));
  let unsentFailovers = 0;
  const router = new Router({
    logger: {
      debug: (_message, fields) => {
        if (fields?.sent === false) unsentFailovers++;
      },
    },
  });
  cleanups.push(() => router.destroy());
  router.setReplicas([doomed.replica('doomed'), survivor.replica('survivor')]);

  const outcomes: Outcome[] = [];
  const send = async (id: string, method: 'GET' | 'POST', hold: number, signal?: AbortSignal) => {
    try {
      const response = await router.fetch(`/work?id=${id}&hold=${hold}`, {
        method,
        ...(method === 'POST' ? { body: JSON.stringify({ id }) } : {}),
        ...(signal === undefined ? {} : { signal }),
      });
      const body = (await response.json()) as { replica: string };
      outcomes.push({ id, method, ok: response.status === 200, servedBy: body.replica });
    } catch (error) {
      outcomes.push({ id, method, ok: false, error });
    }
  };

  // Long POSTs: least-load spreads them over both replicas, so the doomed one surely holds
  // some when it dies. The survivor's are cancelled at the end.
  const longAbort = new AbortController();
  const longPosts = [0, 1, 2, 3].map((index) =>
    send(`long-${index}`, 'POST', 60_000, longAbort.signal),
  );
  await until(() => [...doomed.received].some((id) => id.startsWith('long-')));

  // Steady load: workers alternate GETs and POSTs that each take a few ms on the replica.
  let stop = false;
  let sequence = 0;
  const workers = Array.from({ length: 6 }, async (_, worker) => {
    while (!stop) {
      const index = sequence++;
      await send(`w${worker}-${index}`, index % 2 === 0 ? 'GET' : 'POST', 5);
    }
  });
  const completed = () => outcomes.length;
  await until(() => completed() >= 60);

  doomed.child.kill('SIGKILL');
  await doomed.exited;
  // The engine has not noticed yet: the dead replica stays registered for a while.
  const afterKill = completed();
  await until(() => completed() >= afterKill + 120);
  router.setReplicas([survivor.replica('survivor')]);
  const afterRemoval = completed();
  await until(() => completed() >= afterRemoval + 30);
  stop = true;
  await Promise.all(workers);
  longAbort.abort();
  await Promise.all(longPosts);

  const steady = outcomes.filter((outcome) => !outcome.id.startsWith('long-'));
  const gets = steady.filter((outcome) => outcome.method === 'GET');
  const posts = steady.filter((outcome) => outcome.method === 'POST');
  expect(gets.length).toBeGreaterThan(50);
  expect(posts.length).toBeGreaterThan(50);

  // Zero failed idempotent requests.
  expect(gets.filter((outcome) => !outcome.ok)).toEqual([]);

  // Every failed POST had been written to the dead replica (it may have reached it: the
  // router cannot tell a replica that read it and died from one that died just before),
  // failed with a typed, non-retryable error naming it, and was never resent.
  const failedPosts = posts.filter((post) => !post.ok);
  for (const outcome of failedPosts) {
    expect(UpstreamError.isInstance(outcome.error), String(outcome.error)).toBe(true);
    expect((outcome.error as UpstreamError).replicaId).toBe('doomed');
    expect((outcome.error as UpstreamError).retryable).toBe(false);
    expect((outcome.error as UpstreamError).message).toContain('after the request was sent');
    expect(survivor.received.has(outcome.id)).toBe(false);
  }
  // Only requests already on the wire at the moment of death can fail: at most one per worker.
  expect(failedPosts.length).toBeLessThanOrEqual(6);
  // Zero failed POSTs that the router had not sent; and it did fail those over.
  expect(
    steady.filter(
      (outcome) => !outcome.ok && !String(outcome.error).includes('after the request was sent'),
    ),
  ).toEqual([]);
  expect(unsentFailovers).toBeGreaterThan(0);
  // Every POST the dead replica never saw, except those on the wire when it died, succeeded.
  const lostUnseen = failedPosts.filter((post) => !doomed.received.has(post.id));
  expect(lostUnseen.length).toBeLessThanOrEqual(6);

  // The long POSTs the doomed replica was serving: typed failure, never silently retried.
  const longOnDoomed = outcomes.filter(
    (outcome) => outcome.id.startsWith('long-') && doomed.received.has(outcome.id),
  );
  expect(longOnDoomed.length).toBeGreaterThan(0);
  for (const outcome of longOnDoomed) {
    expect(outcome.ok).toBe(false);
    expect(UpstreamError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as UpstreamError).retryable).toBe(false);
    expect(survivor.received.has(outcome.id)).toBe(false);
  }
  expect(router.inFlight).toBe(0);
});
