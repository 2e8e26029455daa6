/**
 * A self-contained HTML report (inline SVG, inline CSS, no script, no network): per trace,
 * the results table, availability and cost per policy beside the optimum, replicas over
 * time by location and capacity type for the first window of each policy, and the request
 * latency distributions. SVG drawn by hand: a chart library would need a browser runtime
 * or a network fetch, and these plots are a few dozen lines.
 */
import type { ExperimentResult } from './experiment.js';
import { tickCounts } from './timeline.js';
import type { Timeline } from './timeline.js';

const PALETTE = [
  '#4e79a7',
  '#59a14f',
  '#9c755f',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#bab0ac',
  '#86bcb6',
  '#8cd17d',
];
const ON_DEMAND_COLOR = '#e15759';

function escape(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]!,
  );
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '–' : value.toFixed(digits);
}

/** Held replicas per location over time, stacked; ready count and target as lines. */
export function replicasChart(
  timeline: Timeline,
  title: string,
  width = 720,
  height = 200,
): string {
  const pad = { left: 36, right: 150, top: 20, bottom: 24 };
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const step = Math.max(1, Math.floor(timeline.ticks / plotWidth));
  const samples = Math.ceil(timeline.ticks / step);
  const series = [...timeline.locations, 'on-demand'];
  const held = series.map(() => new Float64Array(samples));
  const index = new Map(series.map((name, position) => [name, position]));
  for (const replica of timeline.replicas) {
    const row =
      replica.capacityType === 'on-demand' ? series.length - 1 : (index.get(replica.location) ?? 0);
    for (
      let sample = Math.ceil(replica.launchTick / step);
      sample * step < replica.endTick && sample < samples;
      sample++
    ) {
      held[row]![sample]! += 1;
    }
  }
  const counts = tickCounts(timeline);
  let maxTotal = timeline.target + 1;
  for (let sample = 0; sample < samples; sample++) {
    let total = 0;
    for (const row of held) total += row[sample]!;
    maxTotal = Math.max(maxTotal, total);
  }
  const x = (sample: number) => pad.left + (sample / Math.max(1, samples - 1)) * plotWidth;
  const y = (value: number) => pad.top + plotHeight - (value / maxTotal) * plotHeight;
  const base = new Float64Array(samples);
  const areas: string[] = [];
  series.forEach((name, row) => {
    const values = held[row]!;
    if (values.every((value) => value === 0)) return;
    const top: string[] = [];
    const bottom: string[] = [];
    for (let sample = 0; sample < samples; sample++) {
      top.push(`${x(sample).toFixed(1)},${y(base[sample]! + values[sample]!).toFixed(1)}`);
      bottom.push(`${x(sample).toFixed(1)},${y(base[sample]!).toFixed(1)}`);
    }
    for (let sample = 0; sample < samples; sample++) base[sample]! += values[sample]!;
    const color = name === 'on-demand' ? ON_DEMAND_COLOR : PALETTE[row % PALETTE.length]!;
    areas.push(
      `<polygon points="${top.join(' ')} ${bottom.reverse().join(' ')}" fill="${color}" fill-opacity="0.85"><title>${escape(name)}</title></polygon>`,
    );
  });
  const ready: string[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const tick = sample * step;
    ready.push(
      `${x(sample).toFixed(1)},${y(counts.readySpot[tick]! + counts.readyOnDemand[tick]!).toFixed(1)}`,
    );
  }
  const legend = series
    .map((name, row) => {
      const color = name === 'on-demand' ? ON_DEMAND_COLOR : PALETTE[row % PALETTE.length]!;
      const short = name.split('/').pop()!;
      return `<rect x="${width - pad.right + 10}" y="${pad.top + row * 14}" width="10" height="10" fill="${color}"/><text x="${width - pad.right + 24}" y="${pad.top + row * 14 + 9}">${escape(short)}</text>`;
    })
    .join('');
  const hours = (timeline.ticks * timeline.tickSeconds) / 3600;
  const axis = [0, 0.25, 0.5, 0.75, 1]
    .map((fraction) => {
      const at = pad.left + fraction * plotWidth;
      return `<text x="${at.toFixed(1)}" y="${height - 6}" text-anchor="middle">${(fraction * hours).toFixed(0)}h</text>`;
    })
    .join('');
  const yTicks = Array.from({ length: maxTotal + 1 }, (_, value) => value)
    .filter((value) => maxTotal <= 8 || value % 2 === 0)
    .map(
      (value) => `<text x="${pad.left - 6}" y="${y(value) + 4}" text-anchor="end">${value}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">
<text x="${pad.left}" y="12" font-weight="bold">${escape(title)}</text>
${areas.join('\n')}
<polyline points="${ready.join(' ')}" fill="none" stroke="#000" stroke-width="1"><title>ready replicas</title></polyline>
<line x1="${pad.left}" x2="${pad.left + plotWidth}" y1="${y(timeline.target)}" y2="${y(timeline.target)}" stroke="#000" stroke-dasharray="4 3"/>
<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${pad.top + plotHeight}" stroke="#888"/>
${legend}${axis}${yTicks}
<text x="${width - pad.right + 10}" y="${pad.top + series.length * 14 + 12}">— ready, - - target</text>
</svg>`;
}

/** Horizontal bars of one metric per policy. */
function barChart(
  rows: readonly ExperimentResult[],
  metric: (row: ExperimentResult) => number,
  title: string,
  format: (value: number) => string,
  domain: [number, number],
): string {
  const width = 360;
  const barHeight = 16;
  const left = 130;
  const height = 24 + rows.length * (barHeight + 4);
  const scale = (value: number) =>
    ((Math.max(domain[0], Math.min(domain[1], value)) - domain[0]) / (domain[1] - domain[0])) *
    (width - left - 50);
  const bars = rows
    .map((row, index) => {
      const top = 20 + index * (barHeight + 4);
      const value = metric(row);
      const color = row.policy === 'optimal' ? '#333' : PALETTE[index % PALETTE.length]!;
      return `<text x="${left - 6}" y="${top + 12}" text-anchor="end">${escape(row.policy)}</text><rect x="${left}" y="${top}" width="${scale(value).toFixed(1)}" height="${barHeight}" fill="${color}"/><text x="${left + scale(value) + 4}" y="${top + 12}">${format(value)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10"><text x="4" y="12" font-weight="bold">${escape(title)}</text>${bars}</svg>`;
}

/** Latency CDFs (0 … timeout) of every policy with a workload. */
function latencyChart(rows: readonly ExperimentResult[]): string {
  const withLatency = rows.filter((row) => row.latencies !== undefined && row.latencies.length > 0);
  if (withLatency.length === 0) return '';
  const width = 720;
  const height = 240;
  const pad = { left: 40, right: 150, top: 20, bottom: 28 };
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const maxLatency = Math.max(
    ...withLatency.map((row) => row.latencies![row.latencies!.length - 1]!),
  );
  const x = (value: number) => pad.left + (value / maxLatency) * plotWidth;
  const y = (fraction: number) => pad.top + plotHeight - fraction * plotHeight;
  const lines = withLatency
    .map((row, index) => {
      const sorted = row.latencies!;
      const points: string[] = [];
      const samples = 200;
      for (let sample = 0; sample <= samples; sample++) {
        const position = Math.min(
          sorted.length - 1,
          Math.floor((sample / samples) * (sorted.length - 1)),
        );
        points.push(`${x(sorted[position]!).toFixed(1)},${y(sample / samples).toFixed(1)}`);
      }
      const color = row.policy === 'optimal' ? '#333' : PALETTE[index % PALETTE.length]!;
      return `<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/><rect x="${width - pad.right + 10}" y="${pad.top + index * 14}" width="10" height="10" fill="${color}"/><text x="${width - pad.right + 24}" y="${pad.top + index * 14 + 9}">${escape(row.policy)}</text>`;
    })
    .join('\n');
  const axis = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (fraction) =>
        `<text x="${(pad.left + fraction * plotWidth).toFixed(1)}" y="${height - 8}" text-anchor="middle">${(fraction * maxLatency).toFixed(0)}s</text><text x="${pad.left - 6}" y="${y(fraction) + 4}" text-anchor="end">${fraction.toFixed(2)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10"><text x="${pad.left}" y="12" font-weight="bold">Request latency (CDF, failed requests at the timeout)</text>${lines}${axis}<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${pad.top + plotHeight}" stroke="#888"/><line x1="${pad.left}" x2="${pad.left + plotWidth}" y1="${pad.top + plotHeight}" y2="${pad.top + plotHeight}" stroke="#888"/></svg>`;
}

export interface HtmlReportOptions {
  readonly title?: string | undefined;
  /** Settings shown under the title, e.g. `target 3, N_extra 1, …`. */
  readonly settings?: string | undefined;
}

/**
 * Renders rows from `runExperiment({ keepTimelines: true, ... })` as one HTML document.
 */
export function renderHtmlReport(
  rows: readonly ExperimentResult[],
  options: HtmlReportOptions = {},
): string {
  const traces = [...new Set(rows.map((row) => row.trace))];
  const sections = traces.map((trace) => {
    const traceRows = rows.filter((row) => row.trace === trace);
    const table = `<table><tr><th>policy</th><th>availability mean / min</th><th>cost</th><th>P50 / P90 / P99 (s)</th><th>failed</th><th>time</th></tr>${traceRows
      .map(
        (row) =>
          `<tr><td>${escape(row.policy)}</td><td>${fixed(row.availability, 4)} / ${fixed(row.availabilityMin, 4)}</td><td>${fixed(row.cost, 3)}</td><td>${row.latencyP50 === null ? '–' : `${fixed(row.latencyP50, 1)} / ${fixed(row.latencyP90, 1)} / ${fixed(row.latencyP99, 1)}`}</td><td>${row.failureRate === null ? '–' : `${(row.failureRate * 100).toFixed(2)}%`}</td><td>${(row.runtimeMs / 1000).toFixed(1)}s</td></tr>`,
      )
      .join('')}</table>`;
    const minAvailability = Math.min(...traceRows.map((row) => row.availability));
    const bars =
      barChart(
        traceRows,
        (row) => row.availability,
        'Availability (mean)',
        (value) => value.toFixed(4),
        [Math.max(0, Math.floor(minAvailability * 20) / 20 - 0.05), 1],
      ) +
      barChart(
        traceRows,
        (row) => row.cost,
        'Cost vs on-demand (mean)',
        (value) => value.toFixed(3),
        [0, 1.1],
      );
    const timelines = traceRows
      .filter((row) => row.timelines !== undefined && row.timelines.length > 0)
      .map((row) =>
        replicasChart(
          row.timelines![0]!,
          `${row.policy}: replicas held by location (first window)`,
        ),
      )
      .join('\n');
    return `<section><h2>${escape(trace)}</h2>${table}<div class="row">${bars}</div>${timelines}${latencyChart(traceRows)}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(options.title ?? 'spothedge-sim report')}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}.row{display:flex;gap:24px;flex-wrap:wrap}svg{display:block;margin:8px 0}</style>
</head><body><h1>${escape(options.title ?? 'spothedge-sim report')}</h1>${options.settings ? `<p>${escape(options.settings)}</p>` : ''}
<p>Availability: share of ticks after the first cold start with at least the target of ready replicas. Cost: relative to the target number of on-demand replicas. Replica charts show the first window of each policy: stacked held replicas per location (spot) and on-demand; the black line is the ready count, the dashed line the target.</p>
${sections.join('\n')}
</body></html>
`;
}
