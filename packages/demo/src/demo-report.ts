/** The demo's self-contained HTML report: summary, replicas over time, latency histogram. */
import { replicasChart } from '@spothedge/sim';
import type { DemoResult } from './run-demo.js';

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function latencyHistogram(latencies: readonly number[], width = 720, height = 180): string {
  if (latencies.length === 0) return '<p>No successful requests.</p>';
  const bins = 30;
  const max = Math.max(...latencies);
  const counts = new Array<number>(bins).fill(0);
  for (const latency of latencies)
    counts[Math.min(bins - 1, Math.floor((latency / max) * bins))]! += 1;
  const top = Math.max(...counts);
  const barWidth = (width - 60) / bins;
  const bars = counts
    .map((count, index) => {
      const barHeight = (count / top) * (height - 40);
      return `<rect x="${40 + index * barWidth}" y="${height - 20 - barHeight}" width="${barWidth - 1}" height="${barHeight}" fill="#4a7bd0"><title>${count} requests</title></rect>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="latency histogram">${bars}<text x="40" y="${height - 4}" font-size="11">0 s</text><text x="${width - 60}" y="${height - 4}" font-size="11">${max.toFixed(2)} s</text></svg>`;
}

/** Renders the report; it opens with no network. */
export function renderDemoReport(result: DemoResult): string {
  const row = (name: string, value: string) => `<tr><th>${name}</th><td>${escape(value)}</td></tr>`;
  const fixed = (value: number | null, digits = 3) =>
    value === null ? '–' : value.toFixed(digits);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spothedge demo report</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}th{text-align:left;padding-right:1rem}pre{background:#f4f4f4;padding:1rem;max-height:24rem;overflow:auto}</style>
</head><body>
<h1>spothedge demo</h1>
<table>
${row('trace', result.trace)}
${row('availability', `${(result.availability * 100).toFixed(2)}%`)}
${row('cost vs all on-demand', fixed(result.cost))}
${row('requests', `${result.requests} (${result.failed} failed)`)}
${row('latency p50 / p99', `${fixed(result.latencyP50)} s / ${fixed(result.latencyP99)} s`)}
${row('preemptions', String(result.preemptions))}
${row('leaked processes', String(result.leakedProcesses))}
</table>
<h2>Replicas by location over time</h2>
${replicasChart(result.timeline, 'held replicas (stacked by location, on-demand on top)')}
<h2>Request latency</h2>
${latencyHistogram(result.latencies)}
<h2>Events</h2>
<pre>${escape(result.events.join('\n'))}</pre>
</body></html>
`;
}
