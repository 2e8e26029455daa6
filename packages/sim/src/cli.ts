#!/usr/bin/env node
/** Entry point of the `spothedge-sim` bin; the logic is in `run-cli.ts`. */
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
