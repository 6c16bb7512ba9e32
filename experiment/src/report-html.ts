import { chartPage, embedJson, escapeHtml } from '../../common/html/uplot.ts'
import type { PolicyOutcome } from './tables.ts'

/** One page: the tables, then p99 per second and pods paid for over time, every real run of every policy. */
export function experimentHtml(
  title: string,
  intro: string,
  tables: string,
  outcomes: readonly PolicyOutcome[],
  sloMs: number,
): string {
  const runs = outcomes.flatMap((o) =>
    o.real.map((r, i) => ({ name: `${o.policy}${o.real.length > 1 ? ` #${i + 1}` : ''}`, run: r })),
  )
  const seconds = runs[0]?.run.timeline.map((t) => t.second) ?? []
  const data = {
    seconds,
    runs: runs.map(({ name, run }) => ({
      name,
      p99: run.p99BySecond,
      paid: run.timeline.map((t) => t.paid),
      ready: run.timeline.map((t) => t.ready),
    })),
  }
  return chartPage(
    title,
    `<p>${escapeHtml(intro)}</p>
<pre>${escapeHtml(tables)}</pre>
<h2>Pods paid for (pending, booting, ready or draining), every run</h2><div id="paid"></div>
<h2>Ready pods</h2><div id="ready"></div>
<h2>p99 latency per second (ms, log scale), with the SLO</h2><div id="latency"></div>`,
    `const data = ${embedJson(data)};
const slo = ${sloMs};
const palette = ['#d62728', '#ff9896', '#1f77b4', '#aec7e8', '#ff7f0e', '#2ca02c', '#9467bd', '#7f7f7f', '#8c564b', '#e377c2'];
const width = Math.min(1100, document.body.clientWidth);
const series = data.runs.map((r, j) => ({ label: r.name, stroke: palette[j % palette.length], width: 1.5 }));
for (const field of ['paid', 'ready']) {
  new uPlot({ width, height: 260, scales: { x: { time: false } }, axes: [{ label: 'second' }, { label: 'pods' }],
    series: [{ label: 's' }, ...series] }, [data.seconds, ...data.runs.map((r) => r[field])], document.getElementById(field));
}
new uPlot({ width, height: 280, scales: { x: { time: false }, y: { distr: 3 } }, axes: [{ label: 'second' }, { label: 'ms' }],
  series: [{ label: 's' }, ...series, { label: 'SLO', stroke: '#000', dash: [6, 4] }] },
  [data.seconds, ...data.runs.map((r) => r.p99), data.seconds.map(() => slo)], document.getElementById('latency'));
`,
  )
}
