import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider, type LocalProvider } from '@spothedge/local';
import { startBackend, type Backend } from './backend.js';

describe('a node:http backend embedding spothedge', () => {
  let backend: Backend;
  let provider: LocalProvider;
  const logged: string[] = [];

  beforeAll(async () => {
    provider = createLocalProvider({ locations: 3, coldStartMs: 500 });
    backend = await startBackend({ provider, log: (line) => logged.push(line) });
    const deadline = Date.now() + 30_000;
    while (backend.service.status().ready.length < 2) {
      if (Date.now() > deadline) throw new Error('replicas did not become ready');
      await delay(100);
    }
  }, 60_000);
  afterAll(() => backend.close(), 60_000);

  it('serves an OpenAI client, streaming token by token through the router', async () => {
    const client = new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'spothedge-demo',
      messages: [{ role: 'user', content: 'Say something' }],
      max_tokens: 6,
      stream: true,
    });
    const tokens: string[] = [];
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) tokens.push(content);
    }
    expect(tokens).toHaveLength(6);
    const completion = await client.completions.create({
      model: 'spothedge-demo',
      prompt: 'hi',
      max_tokens: 3,
    });
    expect(completion.choices[0]!.text.trim().split(' ')).toHaveLength(3);
  });

  it('keeps its own routes and logs preemptions', async () => {
    const status = (await (await fetch(`${backend.url}/status`)).json()) as {
      target: number;
      ready: number;
    };
    expect(status.target).toBe(2);
    expect(status.ready).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${backend.url}/other`)).status).toBe(404);
    const spot = backend.service
      .status()
      .replicas.find((replica) => replica.capacityType === 'spot' && replica.status === 'ready');
    expect(spot).toBeDefined();
    provider.preempt(spot!.instanceId!);
    const deadline = Date.now() + 20_000;
    while (!logged.some((line) => line.startsWith('preempted:'))) {
      if (Date.now() > deadline) throw new Error('preemption was not logged');
      await delay(100);
    }
    expect(logged.find((line) => line.startsWith('preempted:'))).toContain(spot!.id);
  }, 30_000);
});
