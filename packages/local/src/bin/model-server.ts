#!/usr/bin/env node
/**
 * `spothedge-model-server`: runs the OpenAI-compatible model server.
 *
 *   spothedge-model-server --port 8080 --tokens-per-second 50 --concurrency 4 --startup-delay-ms 2000
 *
 * Prints one JSON line `{"url":"http://127.0.0.1:PORT"}` once listening. When started with
 * an IPC channel (as LocalProvider does) it also reports there, and exits when its parent
 * goes away, so no replica outlives the host.
 */
import { parseArgs } from 'node:util';
import { startModelServer } from '../model-server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    model: { type: 'string' },
    'tokens-per-second': { type: 'string' },
    concurrency: { type: 'string' },
    'startup-delay-ms': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'Usage: spothedge-model-server [--port N] [--host H] [--model ID] [--tokens-per-second N]\n' +
      '                              [--concurrency N] [--startup-delay-ms N]\n',
  );
  process.exit(0);
}

const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
const server = await startModelServer({
  port: number(values.port),
  host: values.host,
  model: values.model,
  tokensPerSecond: number(values['tokens-per-second']),
  concurrency: number(values.concurrency),
  startupDelayMs: number(values['startup-delay-ms']),
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
if (process.send) {
  process.send({ type: 'listening', url: server.url });
  // The parent (the host running LocalProvider) is gone: do not outlive it.
  process.on('disconnect', () => process.exit(0));
}
const shutdown = () => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
