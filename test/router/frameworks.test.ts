/** The proxy handler mounted in real express and fastify apps, as docs/routing.md shows. */
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from '../../packages/core/src/index.js';
import { startServer, type TestServer } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function replicaAndRouter(): Promise<{ replica: TestServer; router: Router }> {
  const replica = await startServer();
  const router = new Router();
  router.setReplicas([replica.replica('r1')]);
  cleanups.push(
    () => replica.close(),
    () => router.destroy(),
  );
  return { replica, router };
}

describe('Router.handler in real frameworks', () => {
  it('mounts in express under /v1 (express strips the mount path) and streams the body through', async () => {
    const { replica, router } = await replicaAndRouter();
    const handler = router.handler();
    const app = express();
    app.get('/health', (_request, response) => {
      response.send('host ok');
    });
    app.use('/v1', handler); // as docs/routing.md: GET /v1/models → replica GET /models
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const response = await fetch(`${base}/v1/completions?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi' }),
    });
    expect(response.status).toBe(200);
    expect(replica.seen).toHaveLength(1);
    expect(replica.seen[0]).toMatchObject({
      method: 'POST',
      url: '/completions?x=1',
      body: '{"prompt":"hi"}',
    });
    expect(await (await fetch(`${base}/health`)).text()).toBe('host ok');
  });

  it('keeps every repeated response header although express set headers first', async () => {
    const replica = await startServer((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end('ok');
    });
    const router = new Router();
    router.setReplicas([replica.replica('r1')]);
    cleanups.push(
      () => replica.close(),
      () => router.destroy(),
    );
    const app = express(); // sets `x-powered-by` before the handler runs
    app.use('/v1', router.handler());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/c`);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-powered-by')).toBe('Express');
    expect(await response.text()).toBe('ok');
  });

  it('mounts in fastify through reply.hijack() with the raw request', async () => {
    const { replica, router } = await replicaAndRouter();
    const handler = router.handler();
    const app = Fastify();
    // As docs/routing.md: an encapsulated scope where no parser consumes the body stream.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.all('/v1/*', (request, reply) => {
        reply.hijack();
        handler(request.raw, reply.raw);
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [] }),
    });
    expect(response.status).toBe(200);
    expect(replica.seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/chat/completions',
      body: '{"messages":[]}',
    });
  });
});
