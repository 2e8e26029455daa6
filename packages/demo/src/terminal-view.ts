/** The demo's live terminal view: one frame as text, redrawn in place. */
import type { DemoFrame } from './run-demo.js';

const color = {
  dim: (text: string) => `\x1b[2m${text}\x1b[0m`,
  green: (text: string) => `\x1b[32m${text}\x1b[0m`,
  yellow: (text: string) => `\x1b[33m${text}\x1b[0m`,
  red: (text: string) => `\x1b[31m${text}\x1b[0m`,
  cyan: (text: string) => `\x1b[36m${text}\x1b[0m`,
  bold: (text: string) => `\x1b[1m${text}\x1b[0m`,
};

function seconds(value: number | null): string {
  return value === null ? '   –  ' : `${value.toFixed(2)}s`;
}

/** One replica as a short colored tag: `S✓` ready spot, `D…` starting on-demand. */
function replicaTag(capacityType: string, status: string): string {
  const kind = capacityType === 'spot' ? 'S' : 'D';
  switch (status) {
    case 'ready':
      return color.green(`${kind}✓`);
    case 'pending':
    case 'provisioning':
    case 'starting':
      return color.yellow(`${kind}…`);
    case 'draining':
    case 'terminating':
      return color.dim(`${kind}↓`);
    default:
      return color.red(`${kind}!`);
  }
}

/** Renders a frame (ANSI colors; the caller clears the screen). */
export function renderFrame(frame: DemoFrame): string {
  const lines: string[] = [];
  const progress = Math.min(1, frame.elapsedMs / frame.durationMs);
  const bar = '█'.repeat(Math.round(progress * 30)).padEnd(30, '░');
  lines.push(
    `${color.bold('spothedge demo')}  trace ${frame.trace}  ${bar} ${Math.round(frame.elapsedMs / 1000)}/${Math.round(frame.durationMs / 1000)} s`,
  );
  const readyText = `${frame.ready}/${frame.target} ready`;
  lines.push(
    `${frame.ready >= frame.target ? color.green(readyText) : color.red(readyText)}   ` +
      `availability ${(frame.availability * 100).toFixed(1)}%   ` +
      `cost ${frame.cost.toFixed(2)}x of all-on-demand   preemptions ${frame.preemptions}`,
  );
  lines.push(
    `requests ${frame.requests - frame.failed} ok / ${frame.failed > 0 ? color.red(String(frame.failed)) : '0'} failed   ` +
      `latency p50 ${seconds(frame.latencyP50)}  p99 ${seconds(frame.latencyP99)}`,
  );
  lines.push('');
  lines.push(
    color.dim(
      'location                    replicas (S spot, D on-demand; ✓ ready, … starting, ↓ draining)',
    ),
  );
  for (const location of frame.locations) {
    const here = frame.replicas.filter((replica) => replica.location === location);
    lines.push(
      `${location.padEnd(28)}${here.map((replica) => replicaTag(replica.capacityType, replica.status)).join(' ')}`,
    );
  }
  lines.push('');
  lines.push(color.dim('recent events'));
  for (const event of frame.events)
    lines.push(`  ${event.includes('preempt') ? color.red(event) : event}`);
  return lines.join('\n');
}

/** Clears the screen and draws the frame at the top. */
export function drawFrame(stream: NodeJS.WriteStream, frame: DemoFrame): void {
  stream.write(`\x1b[H\x1b[2J${renderFrame(frame)}\n`);
}
