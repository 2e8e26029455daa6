/** Local replicas and clients for the router tests: real HTTP on 127.0.0.1, bounded. */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RoutableReplica } from '../../packages/core/src/index.js';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly seen: SeenRequest[];
  replica(id?: string, path?: string): RoutableReplica;
  close(): Promise<void>;
}

/**
 * An in-process HTTP server that records every request (after reading its body) and
 * then calls `respond`, which defaults to echoing the request as JSON.
 */
export async function startServer(
  respond: (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void = echo,
): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(entry);
      respond(req, res, entry);
    });
  };
  return listen(createServer(listener), seen);
}

/** A server whose handler gets the raw request (the body is not read for it). */
export async function startRawServer(listener: RequestListener): Promise<TestServer> {
  return listen(createServer(listener), []);
}

async function listen(server: Server, seen: SeenRequest[]): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    server,
    port,
    url,
    seen,
    replica: (id = `replica-${port}`, path = '') => ({
      id,
      endpoint: url + path,
      location: 'local/test/a',
      capacityType: 'spot',
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function echo(_req: IncomingMessage, res: ServerResponse, seen: SeenRequest): void {
  const body = JSON.stringify(seen);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A request through node's http client, which (unlike fetch) sends any header and any
 * request target verbatim: absolute-form URLs, `..` segments, hop-by-hop headers.
 */
export function rawRequest(
  port: number,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string | string[]>;
    body?: string | Buffer;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface ReplicaProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Request ids the process logged as received (before answering). */
  readonly received: Set<string>;
  replica(id: string): RoutableReplica;
  exited: Promise<void>;
  stop(): void;
}

/** Starts `fixtures/replica-process.mjs` as a child process and waits for its port. */
export async function startReplicaProcess(name: string): Promise<ReplicaProcess> {
  const script = fileURLToPath(new URL('./fixtures/replica-process.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received = new Set<string>();
  // 'close' comes after stdout is drained, so `received` is complete by then.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('port ')) resolve(Number(line.slice(5)));
      else if (line.startsWith('recv ')) received.add(line.slice(5));
    });
    child.once('exit', (code) => reject(new Error(`replica ${name} exited early (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    port,
    url,
    received,
    exited,
    replica: (id) => ({ id, endpoint: url, location: 'local/test/a', capacityType: 'spot' }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Resolves once `predicate` holds, checking on every macrotask turn (bounded by vitest's test timeout). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * A replica that streams `totalBytes` in 64 KiB chunks and honours backpressure (waits
 * for `drain`), so `written()` shows how far a slow reader downstream let it get.
 */
export async function startStreamingServer(
  totalBytes: number,
): Promise<TestServer & { written(): number }> {
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 1);
  const server = await startRawServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = (): void => {
      while (written < totalBytes) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  return Object.assign(server, { written: () => written });
}

/** Resolves once `value()` stopped changing for `quietMs`. */
export async function settled(value: () => number, quietMs = 150): Promise<number> {
  let last = value();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = value();
    if (now === last) return now;
    last = now;
  }
}
