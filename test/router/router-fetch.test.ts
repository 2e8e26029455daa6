import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  IllegalStateError,
  InvalidArgumentError,
  InvalidConfigError,
  ManualClock,
  NoReadyReplicaError,
  Router,
  UpstreamError,
  UpstreamTimeoutError,
  type RoutableReplica,
} from '../../packages/core/src/index.js';
import {
  closedPort,
  settled,
  startRawServer,
  startServer,
  startStreamingServer,
  until,
  type SeenRequest,
} from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends { close(): Promise<void> } | Router>(value: T): T {
  cleanups.push(() => (value instanceof Router ? value.destroy() : value.close()));
  return value;
}

function deadReplica(port: number, id = 'dead'): RoutableReplica {
  return {
    id,
    endpoint: `http://127.0.0.1:${port}`,
    location: 'local/test/a',
    capacityType: 'spot',
  };
}

describe('Router.fetch', () => {
  it('forwards method, path, query, headers and body, and streams the response back', async () => {
    const replica = track(await startServer());
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    const response = await router.fetch('/v1/chat?stream=false', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as SeenRequest;
    expect(seen).toMatchObject({
      method: 'POST',
      url: '/v1/chat?stream=false',
      body: '{"hello":"world"}',
    });
    expect(seen!.headers['x-custom']).toBe('yes');
    expect(seen!.headers.host).toBe(`127.0.0.1:${replica.port}`);
  });

  it('uses only the path of the input: another host, Host header or `..` cannot steer it', async () => {
    const replica = track(await startServer());
    const elsewhere = track(await startServer());
    const router = track(new Router());
    router.setReplicas([replica.replica('r1', '/base')]);
    const inputs = [
      `${elsewhere.url}/steal`,
      new URL(`${elsewhere.url}/steal2`),
      new Request(`${elsewhere.url}/steal3`, { headers: { host: `127.0.0.1:${elsewhere.port}` } }),
      '/../../../escape',
      '/%2e%2e/%2E%2E/escape2',
      '//127.0.0.1:1/scheme-relative',
      'relative/path',
    ];
    for (const input of inputs) {
      const response = await router.fetch(input, {
        headers: { host: `127.0.0.1:${elsewhere.port}` },
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect(elsewhere.seen).toHaveLength(0);
    expect(replica.seen.map((seen) => seen.url)).toEqual([
      '/base/steal',
      '/base/steal2',
      '/base/steal3',
      '/base/escape',
      '/base/escape2',
      '/base//127.0.0.1:1/scheme-relative',
      '/base/relative/path',
    ]);
    for (const seen of replica.seen) expect(seen.headers.host).toBe(`127.0.0.1:${replica.port}`);
    await expect(router.fetch('file:///etc/passwd')).rejects.toSatisfy((error: unknown) =>
      InvalidArgumentError.isInstance(error),
    );
  });

  it('sends replica headers to replicas, overriding the client, and never echoes them back', async () => {
    const replica = track(
      await startServer((req, res) => {
        res.writeHead(200, {
          'x-echo': String(req.headers.authorization),
          authorization: String(req.headers.authorization),
          'x-upstream-key': 'k',
          'x-fine': 'ok',
        });
        res.end('done');
      }),
    );
    const router = track(
      new Router({
        replicaHeaders: { Authorization: 'Bearer replica-secret-token', 'X-Upstream-Key': 'k' },
      }),
    );
    router.setReplicas([replica.replica('r1')]);
    const response = await router.fetch('/x', {
      headers: { authorization: 'Bearer client-forged' },
    });
    expect(replica.seen[0]!.headers.authorization).toBe('Bearer replica-secret-token');
    expect(replica.seen[0]!.headers['x-upstream-key']).toBe('k');
    expect(response.headers.get('authorization')).toBeNull();
    expect(response.headers.get('x-echo')).toBeNull();
    expect(response.headers.get('x-upstream-key')).toBeNull();
    expect(response.headers.get('x-fine')).toBe('ok');
    expect(await response.text()).toBe('done');
  });

  it('rejects with NoReadyReplicaError and a retry hint when no replica is ready, and still records the request', async () => {
    const clock = new ManualClock({ now: 1_000 });
    const recorded: number[] = [];
    const router = track(
      new Router({
        clock,
        recorder: { record: (at) => recorded.push(at) },
        retryAfterMs: () => 7_000,
      }),
    );
    const error = await router.fetch('/x').catch((caught: unknown) => caught);
    expect(NoReadyReplicaError.isInstance(error)).toBe(true);
    expect((error as NoReadyReplicaError).retryAfterMs).toBe(7_000);
    expect(recorded).toEqual([1_000]);
  });

  it('records every routed request with clock.now()', async () => {
    const replica = track(await startServer());
    const clock = new ManualClock({ now: 5 });
    const recorded: number[] = [];
    const router = track(new Router({ clock, recorder: { record: (at) => recorded.push(at) } }));
    router.setReplicas([replica.replica('r1')]);
    await (await router.fetch('/a')).text();
    await clock.advance(10);
    await (await router.fetch('/b')).text();
    expect(recorded).toEqual([5, 15]);
  });

  it('fails over a POST whose connection was refused (never sent) to another replica', async () => {
    const replica = track(await startServer());
    const router = track(new Router({ loadBalancing: 'round-robin' }));
    router.setReplicas([deadReplica(await closedPort()), replica.replica('live')]);
    for (let index = 0; index < 6; index++) {
      const response = await router.fetch('/work', { method: 'POST', body: `job-${index}` });
      expect(response.status).toBe(200);
      await response.text();
    }
    expect(replica.seen.map((seen) => seen.body)).toEqual(
      [0, 1, 2, 3, 4, 5].map((index) => `job-${index}`),
    );
  });

  it('fails over a streamed POST body that was never read by the refused replica', async () => {
    const replica = track(await startServer());
    const router = track(new Router({ loadBalancing: 'round-robin' }));
    router.setReplicas([deadReplica(await closedPort()), replica.replica('live')]);
    for (let index = 0; index < 2; index++) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed '));
          controller.enqueue(new TextEncoder().encode(`body ${index}`));
          controller.close();
        },
      });
      const response = await router.fetch('/s', {
        method: 'POST',
        body,
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(200);
      await response.text();
    }
    expect(replica.seen.map((seen) => seen.body)).toEqual(['streamed body 0', 'streamed body 1']);
  });

  it('retries an idempotent request that failed before headers, but never resends a POST that reached a replica', async () => {
    let resets = 0;
    const resetting = track(
      await startRawServer((req) => {
        resets++;
        req.socket.destroy();
      }),
    );
    const replica = track(await startServer());
    const router = track(new Router({ loadBalancing: 'round-robin' }));
    router.setReplicas([resetting.replica('resetting'), replica.replica('live')]);

    const get = await router.fetch('/idempotent');
    expect(get.status).toBe(200);
    await get.text();
    const put = await router.fetch('/put', { method: 'PUT', body: 'replayable' });
    expect(put.status).toBe(200);
    await put.text();
    expect(resets).toBe(2);

    // Round robin now points at the resetting replica again.
    const error = await router
      .fetch('/post', { method: 'POST', body: 'once' })
      .catch((caught: unknown) => caught);
    expect(UpstreamError.isInstance(error)).toBe(true);
    expect((error as UpstreamError).replicaId).toBe('resetting');
    expect((error as UpstreamError).retryable).toBe(false);
    expect(resets).toBe(3);
    expect(replica.seen.map((seen) => seen.url)).toEqual(['/idempotent', '/put']);

    // An Idempotency-Key makes a POST safe to resend.
    const keyed = await router.fetch('/post-keyed', {
      method: 'POST',
      body: 'keyed',
      headers: { 'idempotency-key': 'abc' },
    });
    expect(keyed.status).toBe(200);
    await keyed.text();
  });

  it('fails with a typed error after maxAttempts when every replica refuses', async () => {
    const router = track(new Router({ maxAttempts: 3, retryBackoffMs: 1 }));
    router.setReplicas([
      deadReplica(await closedPort(), 'd1'),
      deadReplica(await closedPort(), 'd2'),
    ]);
    const error = await router
      .fetch('/x', { method: 'POST', body: 'x' })
      .catch((caught: unknown) => caught);
    expect(UpstreamError.isInstance(error)).toBe(true);
    expect((error as UpstreamError).retryable).toBe(true); // never sent: safe for the caller to retry
    expect(router.inFlight).toBe(0);
  });

  it('turns a missing response into UpstreamTimeoutError at the request deadline', async () => {
    const hanging = track(await startRawServer(() => {}));
    const clock = new ManualClock();
    const router = track(new Router({ clock, requestTimeoutMs: 1_000 }));
    router.setReplicas([hanging.replica('hanging')]);
    const pending = router.fetch('/slow').catch((caught: unknown) => caught);
    await clock.advance(1_000);
    expect(UpstreamTimeoutError.isInstance(await pending)).toBe(true);
  });

  it('times out each request at its own deadline, with one timer for all of them', async () => {
    const hanging = track(await startRawServer(() => {}));
    const replica = track(await startServer());
    const clock = new ManualClock();
    const router = track(new Router({ clock, requestTimeoutMs: 1_000 }));
    router.setReplicas([hanging.replica('hanging')]);
    const outcomes: string[] = [];
    const settle = (name: string, pending: Promise<unknown>) =>
      pending.then(
        () => outcomes.push(`${name} ok`),
        (error: unknown) =>
          outcomes.push(`${name} ${UpstreamTimeoutError.isInstance(error) ? 'timeout' : 'other'}`),
      );
    const first = settle('first', router.fetch('/a'));
    await clock.advance(400);
    const second = settle('second', router.fetch('/b'));
    await clock.advance(599);
    expect(outcomes).toEqual([]);
    await clock.advance(1);
    await first;
    expect(outcomes).toEqual(['first timeout']);
    // A request that finishes in time leaves the others' deadlines alone.
    router.setReplicas([replica.replica('fast')]);
    expect((await router.fetch('/c')).status).toBe(200);
    await clock.advance(399);
    expect(outcomes).toEqual(['first timeout']);
    await clock.advance(1);
    await second;
    expect(outcomes).toEqual(['first timeout', 'second timeout']);
    expect(router.inFlight).toBe(0);
  });

  it('holds the replica back while the caller does not read the body, then delivers everything', async () => {
    const total = 64 * 1024 * 1024;
    const replica = track(await startStreamingServer(total));
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    const response = await router.fetch('/big');
    const stalled = await settled(() => replica.written());
    // Only socket buffers fill up; without backpressure the router would take in all 64 MiB.
    expect(stalled).toBeLessThan(total / 2);
    let received = 0;
    for await (const chunk of response.body!) received += chunk.byteLength;
    expect(received).toBe(total);
    expect(router.inFlight).toBe(0);
  });

  it('fails over an idempotent request whose replica sent no headers in time', async () => {
    const hanging = track(await startRawServer(() => {}));
    const replica = track(await startServer());
    const router = track(
      new Router({ headersTimeoutMs: 250, maxAttempts: 6, loadBalancing: 'round-robin' }),
    );
    router.setReplicas([hanging.replica('hanging'), replica.replica('live')]);
    const response = await router.fetch('/eventually');
    expect(response.status).toBe(200);
    await response.text();
  });

  it('aborts the upstream request when the caller aborts (the replica sees the disconnect)', async () => {
    let disconnected!: () => void;
    const sawDisconnect = new Promise<void>((resolve) => (disconnected = resolve));
    const replica = track(
      await startRawServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        res.on('close', () => disconnected());
      }),
    );
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    const controller = new AbortController();
    const response = await router.fetch('/stream', { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    controller.abort();
    await sawDisconnect;
    await expect(reader.read()).rejects.toSatisfy((error: unknown) =>
      AbortedError.isInstance(error),
    );
    expect(router.inFlight).toBe(0);
  });

  it('rejects an already aborted signal without contacting a replica', async () => {
    const replica = track(await startServer());
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    await expect(router.fetch('/x', { signal: AbortSignal.abort() })).rejects.toSatisfy(
      (error: unknown) => AbortedError.isInstance(error),
    );
    expect(replica.seen).toHaveLength(0);
  });

  it('streams an SSE response: the first token arrives before the replica finishes', async () => {
    let finish!: () => void;
    const finishAllowed = new Promise<void>((resolve) => (finish = resolve));
    const replica = track(
      await startRawServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: token-1\n\n');
        void finishAllowed.then(() => {
          res.write('data: token-2\n\n');
          res.end('data: [DONE]\n\n');
        });
      }),
    );
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    const response = await router.fetch('/v1/completions', {
      method: 'POST',
      body: '{"stream":true}',
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = await reader.read(); // the replica has not finished: it waits for `finish`
    expect(new TextDecoder().decode(first.value)).toBe('data: token-1\n\n');
    finish();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('data: token-2\n\ndata: [DONE]\n\n');
  });

  it('handles HEAD and 204 responses without a body', async () => {
    const replica = track(
      await startServer((req, res) => {
        res.writeHead(req.method === 'HEAD' ? 200 : 204, { 'x-kind': req.method });
        res.end();
      }),
    );
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    const head = await router.fetch('/h', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    const deleted = await router.fetch('/d', { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
  });

  it('rejects bad options with InvalidConfigError naming the setting', () => {
    expect(() => new Router({ maxAttempts: 0 })).toThrowError(/`maxAttempts`/);
    expect(() => new Router({ maxAttempts: 1.5 })).toThrowError(/`maxAttempts`/);
    expect(() => new Router({ loadBalancing: 'fastest' as never })).toThrow();
    try {
      new Router({ headersTimeoutMs: -1 });
    } catch (error) {
      expect(InvalidConfigError.isInstance(error)).toBe(true);
      expect((error as InvalidConfigError).setting).toBe('headersTimeoutMs');
    }
  });

  it('refuses malformed replica sets atomically', async () => {
    const replica = track(await startServer());
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    expect(() =>
      router.setReplicas([
        replica.replica('r2'),
        { ...replica.replica('r3'), endpoint: 'ftp://x' },
      ]),
    ).toThrowError(/replicas\[1\]\.endpoint/);
    expect(() => router.setReplicas([replica.replica('dup'), replica.replica('dup')])).toThrowError(
      /unique/,
    );
    expect(router.replicas.map((r) => r.id)).toEqual(['r1']);
  });
});

describe('Router replica set and lifecycle', () => {
  it('least-load sends work to the fast replica while the slow one is busy', async () => {
    const held: (() => void)[] = [];
    const slow = track(await startServer((_req, res) => held.push(() => res.end('slow'))));
    const fast = track(await startServer((_req, res) => res.end('fast')));
    const router = track(new Router());
    router.setReplicas([slow.replica('slow'), fast.replica('fast')]);
    const pending: Promise<string>[] = [];
    let answered = 0;
    for (let index = 0; index < 20; index++) {
      // Sequential arrivals: each request is answered (fast) or held (slow) before the next.
      pending.push(router.fetch(`/r${index}`).then(async (r) => `${await r.text()}${answered++}`));
      await until(() => held.length + answered > index);
    }
    expect(slow.seen).toHaveLength(1);
    expect(fast.seen).toHaveLength(19);
    expect(router.inFlightOf('slow')).toBe(1);
    for (const release of held) release();
    await Promise.all(pending);
    expect(router.inFlightOf('slow')).toBe(0);
  });

  it('a custom balancer chooses among registered replicas but can never add an address', async () => {
    const replica = track(await startServer());
    const elsewhere = track(await startServer());
    const registered = replica.replica('r1');
    let mode: 'foreign' | 'same-id' | 'throw' = 'foreign';
    const router = track(
      new Router({
        loadBalancing: {
          name: 'sneaky',
          pick: (candidates) => {
            if (mode === 'throw') throw new Error('balancer bug');
            if (mode === 'same-id') return { ...candidates[0]!.replica, endpoint: elsewhere.url };
            return elsewhere.replica('intruder');
          },
        },
      }),
    );
    router.setReplicas([registered]);
    await expect(router.fetch('/x')).rejects.toSatisfy((error: unknown) =>
      NoReadyReplicaError.isInstance(error),
    );
    mode = 'same-id';
    expect((await router.fetch('/y')).status).toBe(200);
    mode = 'throw';
    await expect(router.fetch('/z')).rejects.toThrow('balancer bug');
    expect(elsewhere.seen).toHaveLength(0);
    expect(replica.seen.map((seen) => seen.url)).toEqual(['/y']);
    expect(router.inFlight).toBe(0);
  });

  it('round-robin alternates regardless of load', async () => {
    const first = track(await startServer());
    const second = track(await startServer());
    const router = track(new Router({ loadBalancing: 'round-robin' }));
    router.setReplicas([first.replica('a'), second.replica('b')]);
    for (let index = 0; index < 6; index++) await (await router.fetch('/x')).text();
    expect([first.seen.length, second.seen.length]).toEqual([3, 3]);
  });

  it('a removed replica gets no new requests and finishes the ones it has', async () => {
    const held: (() => void)[] = [];
    const leaving = track(await startServer((_req, res) => held.push(() => res.end('leaving'))));
    const staying = track(await startServer((_req, res) => res.end('staying')));
    const router = track(new Router());
    router.setReplicas([leaving.replica('leaving')]);
    const inFlight = router.fetch('/long');
    await new Promise<void>((resolve) => {
      const check = () => (held.length > 0 ? resolve() : setTimeout(check, 2));
      check();
    });
    router.setReplicas([staying.replica('staying')]);
    expect(router.replicas.map((replica) => replica.id)).toEqual(['staying']);
    expect(router.inFlightOf('leaving')).toBe(1);
    for (let index = 0; index < 3; index++)
      expect(await (await router.fetch('/new')).text()).toBe('staying');
    held[0]!();
    expect(await (await inFlight).text()).toBe('leaving');
    expect(router.inFlightOf('leaving')).toBe(0);
    expect(leaving.seen).toHaveLength(1);
  });

  it('close() waits for in-flight requests and refuses new ones; destroy() aborts them', async () => {
    const held: (() => void)[] = [];
    const replica = track(await startServer((_req, res) => held.push(() => res.end('ok'))));
    const router = new Router();
    router.setReplicas([replica.replica('r1')]);
    const first = router.fetch('/a');
    await new Promise<void>((resolve) => {
      const check = () => (held.length > 0 ? resolve() : setTimeout(check, 2));
      check();
    });
    let closed = false;
    const closing = router.close().then(() => (closed = true));
    await expect(router.fetch('/b')).rejects.toSatisfy((error: unknown) =>
      IllegalStateError.isInstance(error),
    );
    expect(closed).toBe(false);
    held[0]!();
    expect(await (await first).text()).toBe('ok');
    await closing;
    expect(closed).toBe(true);

    const other = new Router();
    other.setReplicas([replica.replica('r1')]);
    const stuck = other.fetch('/stuck').catch((caught: unknown) => caught);
    await new Promise<void>((resolve) => {
      const check = () => (held.length > 1 ? resolve() : setTimeout(check, 2));
      check();
    });
    await other.destroy();
    expect(AbortedError.isInstance(await stuck)).toBe(true);
  });

  it('works when fetch and handler are passed around unbound', async () => {
    const replica = track(await startServer());
    const router = track(new Router());
    router.setReplicas([replica.replica('r1')]);
    const { fetch: routed } = router;
    expect((await routed('/unbound')).status).toBe(200);
  });
});
