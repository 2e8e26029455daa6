// `pnpm --filter @spothedge/example-embed-in-node-backend start`: runs the backend until Ctrl-C.
import { startBackend } from './backend.js';

const backend = await startBackend({ port: Number(process.env['PORT'] ?? 3000) });
console.log(
  `backend on ${backend.url}; try: curl ${backend.url}/v1/completions -d '{"prompt":"hi"}'`,
);
process.once('SIGINT', () => {
  console.log('stopping: terminating replicas');
  void backend.close().then(() => process.exit(0));
});
