import { InvalidArgumentError } from '@spothedge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from './model-server.js';

describe('model server', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer({ tokensPerSecond: 200, concurrency: 1 });
  });
  afterAll(() => server.close());

  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers health and lists its model', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as {
      data: { id: string }[];
    };
    expect(models.data.map((model) => model.id)).toEqual(['spothedge-demo']);
  });

  it('completes a prompt with max_tokens tokens', async () => {
    const response = await post('/v1/completions', { prompt: 'hi', max_tokens: 5 });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      object: string;
      choices: { text: string }[];
      usage: { completion_tokens: number };
    };
    expect(body.object).toBe('text_completion');
    expect(body.usage.completion_tokens).toBe(5);
    expect(body.choices[0]!.text.split(' ')).toHaveLength(5);
  });

  it('streams chat completions as server-sent events, chunk by chunk', async () => {
    const response = await post('/v1/chat/completions', {
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      stream: true,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const decoder = new TextDecoder();
    const events: string[] = [];
    let reads = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      reads++;
      events.push(...decoder.decode(chunk).split('\n\n').filter(Boolean));
    }
    expect(events.at(-1)).toBe('data: [DONE]');
    const deltas = events
      .slice(0, -1)
      .map(
        (event) =>
          JSON.parse(event.slice('data: '.length)) as { choices: { delta: { content: string } }[] },
      );
    expect(deltas).toHaveLength(4);
    expect(deltas[0]!.choices[0]!.delta).toMatchObject({ role: 'assistant' });
    expect(reads).toBeGreaterThan(1);
  });

  it('rejects bad requests in the OpenAI error format', async () => {
    const response = await post('/v1/completions', { prompt: 'x', max_tokens: 0 });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { param: 'max_tokens', type: 'invalid_request_error' },
    });
    expect((await post('/v1/chat/completions', { messages: 'no' })).status).toBe(400);
    expect((await fetch(`${server.url}/v1/nothing`)).status).toBe(404);
  });

  it('queues requests beyond the concurrency limit in order', async () => {
    const finished: number[] = [];
    await Promise.all(
      [0, 1, 2].map(async (index) => {
        await (await post('/v1/completions', { prompt: String(index), max_tokens: 3 })).json();
        finished.push(index);
      }),
    );
    expect(finished).toEqual([0, 1, 2]);
  });
});

describe('model server startup', () => {
  it('reports loading until its startup delay has passed', async () => {
    const server = await startModelServer({ startupDelayMs: 60_000 });
    try {
      const response = await fetch(`${server.url}/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'loading' });
    } finally {
      await server.close();
    }
  });

  it('rejects invalid options naming the option', async () => {
    await expect(startModelServer({ tokensPerSecond: -1 })).rejects.toSatisfy(
      (error: unknown) =>
        InvalidArgumentError.isInstance(error) && error.argument === 'tokensPerSecond',
    );
  });
});
