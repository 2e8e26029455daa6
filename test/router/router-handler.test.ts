import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Router, type RouterOptions } from '../../packages/core/src/index.js';
import {
  rawRequest,
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

function track<T extends { close(): Promise<void> }>(value: T): T {
  cleanups.push(() => value.close());
  return value;
}

/** A router plus a node:http server running its handler on 127.0.0.1. */
async function startProxy(
  options: RouterOptions = {},
): Promise<{ router: Router; port: number; server: Server }> {
  const router = new Router(options);
  const server = createServer(router.handler());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await router.destroy();
  });
  return { router, port: (server.address() as AddressInfo).port, server };
}

describe('Router.handler (node:http)', () => {
  it('proxies method, path, query and body, and sets X-Forwarded-*', async () => {
    const replica = track(await startServer());
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    const response = await rawRequest(port, {
      method: 'POST',
      path: '/v1/chat?x=1',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.9',
        host: 'api.example.com',
      },
      body: '{"a":1}',
    });
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body) as SeenRequest;
    expect(seen).toMatchObject({ method: 'POST', url: '/v1/chat?x=1', body: '{"a":1}' });
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('api.example.com');
    expect(seen.headers.host).toBe(`127.0.0.1:${replica.port}`);
  });

  it('keeps X-Forwarded-Proto/Host from a trusted proxy in front and rewrites replica redirects to paths', async () => {
    const replica = track(
      await startServer((req, res, seen) => {
        res.writeHead(302, {
          location: `http://127.0.0.1:${(req.socket.localPort ?? 0).toString()}/api/next?from=${encodeURIComponent(seen.url)}`,
          'x-seen-proto': String(req.headers['x-forwarded-proto']),
          'x-seen-host': String(req.headers['x-forwarded-host']),
        });
        res.end();
      }),
    );
    const { router, port } = await startProxy({ trustProxy: true });
    router.setReplicas([replica.replica('r1', '/api')]);
    const response = await rawRequest(port, {
      path: '/start',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example' },
    });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/next?from=%2Fapi%2Fstart');
    expect(response.headers['x-seen-proto']).toBe('https');
    expect(response.headers['x-seen-host']).toBe('public.example');
  });

  it('reaches only registered replicas whatever the Host header, absolute-form target or path tricks', async () => {
    const replica = track(await startServer());
    const elsewhere = track(await startServer());
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1', '/api')]);
    const attempts: { path: string; host?: string; expected: string }[] = [
      { path: '/a', host: `127.0.0.1:${elsewhere.port}`, expected: '/api/a' },
      { path: `http://127.0.0.1:${elsewhere.port}/absolute?q=1`, expected: '/api/absolute?q=1' },
      { path: `https://127.0.0.1:${elsewhere.port}/tls`, expected: '/api/tls' },
      { path: '/../../../../etc/passwd', expected: '/api/etc/passwd' },
      { path: '/v1/%2e%2e/%2E%2E/%2e%2e/secret', expected: '/api/secret' },
      { path: '/v1/..\\..\\back', expected: '/api/back' },
      {
        path: `//127.0.0.1:${elsewhere.port}/double`,
        expected: `/api//127.0.0.1:${elsewhere.port}/double`,
      },
    ];
    for (const attempt of attempts) {
      const response = await rawRequest(port, {
        path: attempt.path,
        headers: attempt.host === undefined ? {} : { host: attempt.host },
      });
      expect(response.status).toBe(200);
      expect((JSON.parse(response.body) as SeenRequest).url).toBe(attempt.expected);
    }
    expect(elsewhere.seen).toHaveLength(0);
    expect(replica.seen).toHaveLength(attempts.length);
    // Targets that are not paths are refused outright.
    for (const path of ['*', `127.0.0.1:${elsewhere.port}`]) {
      expect((await rawRequest(port, { method: 'OPTIONS', path })).status).toBe(400);
    }
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('strips hop-by-hop headers both ways and never echoes replica credentials', async () => {
    const replica = track(
      await startServer((req, res, seen) => {
        const body = JSON.stringify(seen);
        res.writeHead(200, [
          ['content-type', 'application/json'],
          ['keep-alive', 'timeout=99'],
          ['proxy-authenticate', 'Basic'],
          ['x-private-hop', 'x'],
          ['connection', 'x-private-hop'],
          ['trailer', 'x-checksum'],
          ['x-echo-auth', String(req.headers.authorization)],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ]);
        res.end(body);
      }),
    );
    const { router, port } = await startProxy({
      replicaHeaders: () => ({ authorization: 'Bearer per-replica-secret' }),
    });
    router.setReplicas([replica.replica('r1')]);
    const response = await rawRequest(port, {
      path: '/hop',
      headers: {
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': '1',
        'keep-alive': 'timeout=10',
        te: 'trailers',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'proxy-connection': 'keep-alive',
        upgrade: 'websocket',
        authorization: 'Bearer forged-by-client',
        'x-keep': 'kept',
      },
    });
    const seen = JSON.parse(response.body) as SeenRequest;
    for (const name of [
      'x-drop-me',
      'keep-alive',
      'te',
      'proxy-authorization',
      'proxy-connection',
      'upgrade',
    ]) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    expect(seen.headers['x-keep']).toBe('kept');
    expect(seen.headers.authorization).toBe('Bearer per-replica-secret');
    // (The proxy's own server may add its own `keep-alive` for the client connection.)
    expect(response.headers['keep-alive']).not.toBe('timeout=99');
    for (const name of ['proxy-authenticate', 'x-private-hop', 'trailer', 'x-echo-auth']) {
      expect(response.headers[name], name).toBeUndefined();
    }
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('answers 503 with Retry-After when no replica is ready, and records the request', async () => {
    const recorded: number[] = [];
    const { port } = await startProxy({
      recorder: { record: (at) => recorded.push(at) },
      retryAfterMs: () => 2_500,
    });
    const response = await rawRequest(port, { path: '/v1/models' });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('3');
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'NO_READY_REPLICA' } });
    expect(recorded).toHaveLength(1);
  });

  it('answers 431 and 413 over the header and body limits without reaching a replica', async () => {
    const replica = track(await startServer());
    const { router, port } = await startProxy({ maxHeaderBytes: 2_048, maxBodyBytes: 1_024 });
    router.setReplicas([replica.replica('r1')]);
    expect(
      (await rawRequest(port, { path: '/h', headers: { 'x-big': 'x'.repeat(4_096) } })).status,
    ).toBe(431);
    expect(
      (await rawRequest(port, { method: 'POST', path: '/b', body: 'y'.repeat(2_000) })).status,
    ).toBe(413);
    expect(replica.seen).toHaveLength(0);
    // Chunked (no Content-Length): the limit applies while streaming.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/c', agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let index = 0; index < 8; index++) req.write('z'.repeat(256));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(replica.seen.filter((seen) => seen.body.length > 1_024)).toHaveLength(0);
    // Under the limits everything passes.
    expect((await rawRequest(port, { method: 'POST', path: '/ok', body: 'small' })).status).toBe(
      200,
    );
  });

  it('passes SSE through chunk by chunk: the first token arrives before the replica finishes', async () => {
    let finish!: () => void;
    const finishAllowed = new Promise<void>((resolve) => (finish = resolve));
    const replica = track(
      await startRawServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: token-1\n\n');
        void finishAllowed.then(() => res.end('data: [DONE]\n\n'));
      }),
    );
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    const chunks: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/completions', agent: false },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            chunks.push(chunk);
            if (chunks.length === 1) finish(); // the replica only finishes once we saw token 1
          });
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    await ended;
    expect(chunks[0]).toBe('data: token-1\n\n');
    expect(chunks.join('')).toBe('data: token-1\n\ndata: [DONE]\n\n');
  });

  it('aborts the upstream request when the client disconnects (the replica sees it)', async () => {
    let replicaSawClose!: () => void;
    const sawClose = new Promise<void>((resolve) => (replicaSawClose = resolve));
    const replica = track(
      await startRawServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: 1\n\n');
        res.on('close', () => replicaSawClose());
      }),
    );
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end();
    });
    await sawClose;
    await until(() => router.inFlight === 0);
    expect(router.inFlightOf('r1')).toBe(0);
  });

  it('aborts the upstream request when the client disconnects before response headers', async () => {
    let replicaSawClose!: () => void;
    const sawClose = new Promise<void>((resolve) => (replicaSawClose = resolve));
    let arrived = false;
    const replica = track(
      await startRawServer((_req, res) => {
        arrived = true;
        res.on('close', () => replicaSawClose());
      }),
    );
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => arrived);
    socket.destroy();
    await sawClose;
    await until(() => router.inFlight === 0);
  });

  it('answers 502 when a replica resets a POST it received, without resending it', async () => {
    let resets = 0;
    const resetting = track(
      await startRawServer((req) => {
        resets++;
        req.socket.destroy();
      }),
    );
    const { router, port } = await startProxy();
    router.setReplicas([resetting.replica('resetting')]);
    const response = await rawRequest(port, { method: 'POST', path: '/once', body: 'x' });
    expect(response.status).toBe(502);
    expect(resets).toBe(1);
    expect(response.body).not.toContain('127.0.0.1');
  });

  it('answers 504 when the replica does not answer within the request timeout', async () => {
    const hanging = track(await startRawServer(() => {}));
    const { router, port } = await startProxy({ requestTimeoutMs: 100 });
    router.setReplicas([hanging.replica('hanging')]);
    expect((await rawRequest(port, { path: '/slow' })).status).toBe(504);
  });

  it('answers 503 once closing', async () => {
    const replica = track(await startServer());
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    await router.close();
    const response = await rawRequest(port, { path: '/x' });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
  });

  it('streams a large body both ways with backpressure', async () => {
    const replica = track(
      await startRawServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        req.pipe(res);
      }),
    );
    const { router, port } = await startProxy({ maxBodyBytes: 64 * 1024 * 1024 });
    router.setReplicas([replica.replica('r1')]);
    const size = 8 * 1024 * 1024;
    const response = await rawRequest(port, {
      method: 'PUT',
      path: '/echo',
      body: Buffer.alloc(size, 7),
    });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(size);
  });
});

describe('Router.handler flow control and failures mid-body', () => {
  it('holds the replica back while the client does not read, then delivers everything', async () => {
    const total = 64 * 1024 * 1024;
    const replica = track(await startStreamingServer(total));
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    socket.pause(); // a client that does not read
    socket.write('GET /big HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    await until(() => replica.written() > 0);
    // Only socket buffers fill up; without backpressure the proxy would take in all 64 MiB.
    const stalled = await settled(() => replica.written());
    expect(stalled).toBeLessThan(total / 2);
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await new Promise<void>((resolve) => socket.once('end', resolve));
    expect(replica.written()).toBe(total);
    expect(received).toBeGreaterThan(total); // the body plus the response head and chunk sizes
  });

  it('cuts the client connection when the replica fails mid-body (no clean end)', async () => {
    for (const framing of ['content-length', 'chunked'] as const) {
      const replica = track(
        await startRawServer((_req, res) => {
          res.writeHead(200, framing === 'content-length' ? { 'content-length': '1000' } : {});
          res.write('x'.repeat(100));
          setTimeout(() => res.socket?.destroy(), 20);
        }),
      );
      const { router, port } = await startProxy();
      router.setReplicas([replica.replica('r1')]);
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/partial', agent: false },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(`ended cleanly with ${body.length} bytes`));
            res.on('error', () => resolve(`broken after ${body.length} bytes`));
          },
        );
        req.on('error', (error) => resolve(`request error ${error.message}`));
        req.end();
      });
      expect(outcome, framing).toBe('broken after 100 bytes');
      await until(() => router.inFlight === 0);
    }
  });

  it('passes repeated and non-ASCII response headers through unchanged', async () => {
    const replica = track(
      await startRawServer((_req, res) => {
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.setHeader('x-name', 'café'); // node sends this head as UTF-8 bytes
        res.end('ok');
      }),
    );
    const { router, port } = await startProxy();
    router.setReplicas([replica.replica('r1')]);
    const response = await rawRequest(port, { path: '/cookies' });
    const direct = await rawRequest(replica.port, { path: '/cookies' });
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    // The same bytes as straight from the replica (the client decodes them as latin1).
    expect(response.headers['x-name']).toBe(direct.headers['x-name']);
    expect(Buffer.from(response.headers['x-name'] as string, 'latin1').toString()).toBe('café');
    expect(response.body).toBe('ok');
  });
});

describe('Router.handler in other frameworks', () => {
  it('works as express-style middleware (req, res, next) and forwards a body a parser already read', async () => {
    const replica = track(await startServer());
    const router = new Router();
    cleanups.push(() => router.destroy());
    router.setReplicas([replica.replica('r1')]);
    const handler = router.handler();
    // A stand-in for express.json(): reads the body, sets req.body, then calls the handler.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        (req as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
        handler(req, res, () => res.end('next called'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const response = await rawRequest(port, {
      method: 'POST',
      path: '/v1/x',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"m"}',
    });
    expect(response.status).toBe(200);
    expect((JSON.parse(response.body) as SeenRequest).body).toBe('{"model":"m"}');
  });
});
