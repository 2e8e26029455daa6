#!/usr/bin/env node
/**
 * `spothedge-demo` (`pnpm demo`): SpotHedge over six local locations with replayed
 * preemptions and a live load. Ctrl-C stops early and still cleans up.
 *
 *   spothedge-demo [--duration 90] [--trace synthetic:1|DIR] [--rate 4] [--compression 120]
 *                  [--seed 1] [--json] [--html report.html]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderDemoReport } from '../demo-report.js';
import { runDemo } from '../run-demo.js';
import { drawFrame } from '../terminal-view.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '90' },
    trace: { type: 'string', default: 'synthetic:1' },
    rate: { type: 'string', default: '4' },
    compression: { type: 'string', default: '120' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    html: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'Usage: spothedge-demo [--duration SECONDS] [--trace synthetic:SEED|DIR] [--rate RPS]\n' +
      '                      [--compression TRACE_SECONDS_PER_SECOND] [--seed N] [--json] [--html FILE]\n',
  );
  process.exit(0);
}

// This is an application, not the SDK: it may own the process's signals.
const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  if (++interrupts > 1) process.exit(130);
  process.stderr.write('\nstopping: terminating replicas (Ctrl-C again to force)\n');
  controller.abort();
});

const live = !values.json && process.stdout.isTTY === true;
if (!values.json && !live)
  process.stdout.write('spothedge demo running (no TTY: summary at the end)\n');
const result = await runDemo({
  durationMs: Number(values.duration) * 1000,
  trace: values.trace,
  requestRate: Number(values.rate),
  compression: Number(values.compression),
  seed: Number(values.seed),
  signal: controller.signal,
  onFrame: live ? (frame) => drawFrame(process.stdout, frame) : undefined,
});

if (values.html) writeFileSync(values.html, renderDemoReport(result));
const summary = {
  availability: Number(result.availability.toFixed(4)),
  cost: Number(result.cost.toFixed(4)),
  requests: result.requests,
  failed: result.failed,
  latencyP50: result.latencyP50,
  latencyP99: result.latencyP99,
  preemptions: result.preemptions,
  leakedProcesses: result.leakedProcesses,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const seconds = (value: number | null) => (value === null ? '–' : `${value.toFixed(3)} s`);
  process.stdout.write(
    [
      '',
      `trace ${result.trace}`,
      `availability       ${(summary.availability * 100).toFixed(2)}% of samples with >= target ready replicas`,
      `cost               ${summary.cost.toFixed(3)} x all-on-demand`,
      `requests           ${summary.requests} (${summary.failed} failed)`,
      `latency p50 / p99  ${seconds(summary.latencyP50)} / ${seconds(summary.latencyP99)}`,
      `preemptions        ${summary.preemptions}`,
      `leaked processes   ${summary.leakedProcesses}`,
      values.html ? `report             ${values.html}` : '',
      '',
    ].join('\n'),
  );
}
process.exit(result.leakedProcesses === 0 ? 0 : 1);
