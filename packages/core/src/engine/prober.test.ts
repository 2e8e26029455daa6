import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { HttpProber, resolveReadinessProbe } from './prober.js';

let base = '';
const server = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    if (request.url === '/health' && request.method === 'GET') return response.end('ok');
    if (request.url === '/v1/completions' && request.method === 'POST') {
      const ok =
        request.headers['content-type'] === 'application/json' &&
        request.headers['authorization'] === 'Bearer t' &&
        (JSON.parse(body) as { prompt?: string }).prompt === 'hi';
      response.statusCode = ok ? 200 : 400;
      return response.end();
    }
    if (request.url === '/slow') return; // never answers
    response.statusCode = request.url === '/boom' ? 500 : 404;
    response.end();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const target = () => ({
  replicaId: 'r-1',
  instanceId: 'i-1',
  endpoint: base,
  location: 'fake/us-east-1/us-east-1a',
  capacityType: 'spot' as const,
});
const context = (timeoutMs = 2_000) => ({ abortSignal: AbortSignal.timeout(timeoutMs), timeoutMs });

describe('HttpProber', () => {
  it('GET: 2xx is ready, anything else is not', async () => {
    const prober = new HttpProber({ readinessProbe: { path: '/health' } });
    expect(await prober.probe(target(), context())).toBe(true);
    await prober.close();
    const failing = new HttpProber({ readinessProbe: { path: '/boom' } });
    expect(await failing.probe(target(), context())).toBe(false);
    await failing.close();
  });

  it('POST with a JSON body and headers', async () => {
    const prober = new HttpProber({
      readinessProbe: {
        path: '/v1/completions',
        body: { prompt: 'hi' },
        headers: { authorization: 'Bearer t' },
      },
    });
    expect(await prober.probe(target(), context())).toBe(true);
    await prober.close();
  });

  it('a replica that does not answer in time is not ready', async () => {
    const prober = new HttpProber({ readinessProbe: { path: '/slow' } });
    expect(await prober.probe(target(), context(200))).toBe(false);
    await prober.close();
  });

  it('a refused connection is not ready', async () => {
    const prober = new HttpProber();
    expect(await prober.probe({ ...target(), endpoint: 'http://127.0.0.1:9' }, context())).toBe(
      false,
    );
    await prober.close();
  });
});

describe('resolveReadinessProbe', () => {
  it('fills the defaults', () => {
    expect(resolveReadinessProbe()).toEqual({
      path: '/',
      method: 'GET',
      body: undefined,
      headers: {},
      initialDelayMs: 1_200_000,
      timeoutMs: 15_000,
      periodMs: 10_000,
      failureThreshold: 3,
    });
    expect(resolveReadinessProbe({ body: { a: 1 } }).method).toBe('POST');
  });

  it('names the bad option and value', () => {
    expect(() => resolveReadinessProbe({ path: 'health' })).toThrowError(
      /readinessProbe\.path.*"health"/,
    );
    expect(() => resolveReadinessProbe({ failureThreshold: 0 })).toThrowError(InvalidArgumentError);
    expect(() => resolveReadinessProbe({ timeoutMs: -1 })).toThrowError(/timeoutMs/);
  });
});
