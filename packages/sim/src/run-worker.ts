/**
 * The worker side of {@link RunPool}: receives traces once, then runs windows with the real
 * engine (`simulateWindow`) and posts each timeline back. Loaded only inside a worker thread.
 */
import { parentPort } from 'node:worker_threads';
import type { RunRequest, WorkerReply, WorkerRequest } from './run-pool.js';
import { simulateWindow } from './simulate-window.js';
import type { SpotTrace } from './trace.js';

const port = parentPort;
if (port === null) throw new Error('run-worker.js must be loaded in a worker thread');

const traces = new Map<string, SpotTrace>();

async function run(request: RunRequest): Promise<WorkerReply> {
  const trace = traces.get(request.traceKey);
  if (trace === undefined) {
    return { id: request.id, error: `trace ${request.traceKey} was not sent to this worker` };
  }
  try {
    return { id: request.id, ...(await simulateWindow(trace, request)) };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', (message: WorkerRequest) => {
  if (message.type === 'trace') {
    traces.set(message.key, message.trace);
    return;
  }
  void run(message).then((reply) => port.postMessage(reply));
});
