/**
 * A small OpenAI-compatible model server for local replicas. It generates filler tokens at
 * a configurable rate with a concurrency limit and a startup delay, so routing, streaming
 * and latency behave like an LLM replica without a model.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { InvalidArgumentError, describeValue } from '@spothedge/core';
import PQueue from 'p-queue';

export interface ModelServerOptions {
  /** Port to listen on; `0` picks a free one. @default 0 */
  readonly port?: number;
  /** Address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Model id reported by `/v1/models` and in responses. @default 'spothedge-demo' */
  readonly model?: string;
  /** Generation speed per request. @default 50 */
  readonly tokensPerSecond?: number;
  /** Requests generated at once; the rest wait in FIFO order. @default 4 */
  readonly concurrency?: number;
  /** Time before `/health` answers 200 (a model loading). @default 0 */
  readonly startupDelayMs?: number;
  /** `max_tokens` when a request does not set it. @default 16 */
  readonly defaultMaxTokens?: number;
  /** Largest accepted request body. @default 1_048_576 */
  readonly maxBodyBytes?: number;
}

export interface ModelServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

const WORDS = ['the', 'spot', 'replica', 'serves', 'tokens', 'while', 'hedging', 'across', 'zones'];

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

function checkPositive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be a ${allowZero ? 'non-negative' : 'positive'} number, got ${describeValue(value)}`,
      { argument: name, value },
    );
  }
  return value;
}

/**
 * Starts a model server.
 *
 * @example
 * ```ts
 * const server = await startModelServer({ tokensPerSecond: 100 });
 * const response = await fetch(`${server.url}/v1/completions`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ prompt: 'hi', max_tokens: 8 }),
 * });
 * await server.close();
 * ```
 */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const model = options.model ?? 'spothedge-demo';
  const tokensPerSecond = checkPositive('tokensPerSecond', options.tokensPerSecond ?? 50);
  const concurrency = checkPositive('concurrency', options.concurrency ?? 4);
  const startupDelayMs = checkPositive('startupDelayMs', options.startupDelayMs ?? 0, true);
  const defaultMaxTokens = checkPositive('defaultMaxTokens', options.defaultMaxTokens ?? 16);
  const maxBodyBytes = checkPositive('maxBodyBytes', options.maxBodyBytes ?? 1_048_576);
  const readyAt = Date.now() + startupDelayMs;
  const queue = new PQueue({ concurrency });
  let nextId = 1;

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const status = error instanceof RequestError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      sendJson(response, status, {
        error: {
          message,
          type: status < 500 ? 'invalid_request_error' : 'server_error',
          param: error instanceof RequestError ? (error.param ?? null) : null,
          code: null,
        },
      });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/health') {
      const ready = Date.now() >= readyAt;
      sendJson(response, ready ? 200 : 503, { status: ready ? 'ok' : 'loading' });
      return;
    }
    if (request.method === 'GET' && path === '/v1/models') {
      sendJson(response, 200, {
        object: 'list',
        data: [{ id: model, object: 'model', created: 0, owned_by: 'spothedge' }],
      });
      return;
    }
    const chat = path === '/v1/chat/completions';
    if (request.method !== 'POST' || (!chat && path !== '/v1/completions')) {
      throw new RequestError(404, `Unknown route ${request.method} ${path}`);
    }
    if (Date.now() < readyAt) throw new RequestError(503, 'Model is still loading');
    const body = await readJson(request, maxBodyBytes);
    const maxTokens = body['max_tokens'] ?? defaultMaxTokens;
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new RequestError(400, 'max_tokens must be a positive integer', 'max_tokens');
    }
    if (chat && !Array.isArray(body['messages'])) {
      throw new RequestError(400, 'messages must be an array', 'messages');
    }
    if (!chat && body['prompt'] === undefined) {
      throw new RequestError(400, 'prompt is required', 'prompt');
    }
    const stream = body['stream'] === true;
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${nextId++}`;
    const created = Math.floor(Date.now() / 1000);
    const aborted = new AbortController();
    response.on('close', () => aborted.abort());

    await queue.add(async () => {
      if (aborted.signal.aborted) return;
      if (stream) {
        response.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
      }
      const tokens: string[] = [];
      for (let index = 0; index < maxTokens; index++) {
        try {
          await delay(1000 / tokensPerSecond, undefined, { signal: aborted.signal });
        } catch {
          return; // the client went away: stop generating
        }
        const token = `${index === 0 ? '' : ' '}${WORDS[index % WORDS.length]}`;
        tokens.push(token);
        if (stream) {
          const finish = index === maxTokens - 1 ? 'length' : null;
          const choice = chat
            ? {
                index: 0,
                delta: index === 0 ? { role: 'assistant', content: token } : { content: token },
                finish_reason: finish,
              }
            : { index: 0, text: token, finish_reason: finish };
          const chunk = {
            id,
            object: chat ? 'chat.completion.chunk' : 'text_completion',
            created,
            model,
            choices: [choice],
          };
          response.write(`data: ${JSON.stringify(chunk)}\n\n`);
        }
      }
      if (stream) {
        response.end('data: [DONE]\n\n');
        return;
      }
      const text = tokens.join('');
      const usage = { prompt_tokens: 1, completion_tokens: maxTokens, total_tokens: maxTokens + 1 };
      sendJson(response, 200, {
        id,
        object: chat ? 'chat.completion' : 'text_completion',
        created,
        model,
        choices: [
          chat
            ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'length' }
            : { index: 0, text, finish_reason: 'length' },
        ],
        usage,
      });
    });
  }

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    async close() {
      queue.clear();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readJson(request: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestError(413, `Request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError(400, 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RequestError(400, 'Request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
