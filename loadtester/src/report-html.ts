import { embedJson as embed, escapeHtml, UPLOT_CSS, UPLOT_JS } from '../../common/html/uplot.ts'
import type { Summary, TimelineRow } from './stats.ts'

export interface ReportMeta {
  title: string
  target: string
  workload: string
  startedAt: string
  model: { name?: string; version?: string; pretrained?: boolean } | undefined
}

const fmt = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? '–' : n.toFixed(digits))

export function reportHtml(meta: ReportMeta, summary: Summary, rows: readonly TimelineRow[]): string {
  const errorKinds = [...new Set(rows.flatMap((r) => Object.keys(r.errors)))].sort()
  const data = {
    seconds: rows.map((r) => r.second),
    offered: rows.map((r) => r.offered),
    ok: rows.map((r) => r.ok),
    p50: rows.map((r) => r.p50),
    p95: rows.map((r) => r.p95),
    p99: rows.map((r) => r.p99),
    slo: rows.map(() => summary.slo_ms),
    queue: rows.map((r) => r.max_queue_size),
    errors: Object.fromEntries(errorKinds.map((k) => [k, rows.map((r) => r.errors[k] ?? 0)])),
    ready: rows.map((r) => r.replicas_ready),
    desired: rows.map((r) => r.replicas_desired),
    hasQueue: rows.some((r) => r.max_queue_size !== null),
    hasReplicas: rows.some((r) => r.replicas_ready !== null),
    hasDesired: rows.some((r) => r.replicas_desired !== null),
  }
  const l = summary.latency_ms
  const statusCells = Object.entries(summary.by_status)
    .map(([status, count]) => `${escapeHtml(status)}: ${count}`)
    .join(', ')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(meta.title)}</title>
<style>${UPLOT_CSS}
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1100px }
h1 { font-size: 1.3rem } h2 { font-size: 1.05rem; margin-top: 2rem }
table { border-collapse: collapse } td, th { padding: .2rem .8rem .2rem 0; text-align: left; vertical-align: top }
th { font-weight: 600; color: #555 } .chart { margin: .5rem 0 1rem } .note { color: #666 }
</style>
</head>
<body>
<h1>${escapeHtml(meta.title)}</h1>
<p class="note">${escapeHtml(meta.target)} · workload ${escapeHtml(meta.workload)} · started ${escapeHtml(meta.startedAt)}${
    meta.model ? ` · model ${escapeHtml(`${meta.model.name ?? '?'} ${meta.model.version ?? ''}`)}` : ''
  }${meta.model?.pretrained === false ? ' · <strong>untrained weights: accuracy is meaningless</strong>' : ''}</p>
<table>
<tr><th>requests</th><td>${summary.sent} sent, ${summary.answered} answered, ${summary.dropped} without an answer (${summary.not_sent} not sent, ${summary.timeouts} timed out)</td></tr>
<tr><th>by status</th><td>${statusCells}</td></tr>
<tr><th>latency</th><td>p50 ${fmt(l?.p50)} ms · p90 ${fmt(l?.p90)} ms · p95 ${fmt(l?.p95)} ms · p99 ${fmt(l?.p99)} ms · max ${fmt(l?.max)} ms (from the intended send time)</td></tr>
<tr><th>SLO ${summary.slo_ms} ms</th><td>${fmt(summary.slo_attainment * 100, 2)} % of requests answered 200 within it · goodput ${fmt(summary.goodput_rps, 2)} req/s of ${fmt(summary.offered_rps, 2)} offered</td></tr>
${summary.degraded.answers > 0 ? `<tr><th>degraded</th><td>${summary.degraded.answers} answers by a fallback (brownout): ${fmt(summary.degraded.share * 100, 2)} % of requests, ${fmt(summary.degraded.share_of_ok * 100, 2)} % of the 200s; ${summary.degraded.within_slo} within the SLO${summary.degraded.top1 === null ? '' : `; their top-1 ${fmt(summary.degraded.top1 * 100, 1)} %`}</td></tr>` : ''}
<tr><th>schedule lag</th><td>p99 ${fmt(summary.schedule_lag_ms?.p99, 2)} ms, max ${fmt(summary.schedule_lag_ms?.max, 2)} ms</td></tr>
${summary.accuracy ? `<tr><th>top-1 accuracy</th><td>${fmt(summary.accuracy.top1 * 100, 1)} % of ${summary.accuracy.evaluated} labelled images</td></tr>` : ''}
${summary.accuracy?.top5 != null ? `<tr><th>top-5 accuracy</th><td>${fmt(summary.accuracy.top5 * 100, 1)} %</td></tr>` : ''}
${summary.replicas ? `<tr><th>replicas</th><td>mean ${fmt(summary.replicas.mean_ready, 2)} ready, max ${summary.replicas.max_ready}</td></tr>` : ''}
</table>
<h2>Requests per second: offered and answered 200</h2><div class="chart" id="rps"></div>
<h2>Latency per second, with the SLO</h2><div class="chart" id="latency"></div>
<h2>Errors per second</h2><div class="chart" id="errors"></div>
<h2>Gateway queue size (max per second)</h2><div class="chart" id="queue"></div>
<h2>Replicas</h2><div class="chart" id="replicas"></div>
<script>${UPLOT_JS}</script>
<script>
const data = ${embed(data)};
const width = () => Math.min(1100, document.body.clientWidth);
const palette = ['#1f77b4', '#ff7f0e', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
function chart(id, series, values, yLabel) {
  const el = document.getElementById(id);
  if (!values.some((v) => v.some((x) => x !== null && x !== 0))) { el.textContent = 'no data'; el.className = 'note'; return; }
  new uPlot({
    width: width(), height: 220,
    scales: { x: { time: false } },
    axes: [{ label: 'second' }, { label: yLabel }],
    series: [{ label: 's' }, ...series.map((s, i) => ({ label: s.label, stroke: s.color || palette[i % palette.length], dash: s.dash, width: 1.5 }))],
  }, [data.seconds, ...values], el);
}
chart('rps', [{ label: 'offered' }, { label: 'answered 200' }], [data.offered, data.ok], 'req/s');
chart('latency', [{ label: 'p50' }, { label: 'p95' }, { label: 'p99' }, { label: 'SLO', color: '#000', dash: [6, 4] }], [data.p50, data.p95, data.p99, data.slo], 'ms');
const kinds = Object.keys(data.errors);
if (kinds.length === 0) { const el = document.getElementById('errors'); el.textContent = 'no errors'; el.className = 'note'; }
else chart('errors', kinds.map((k) => ({ label: k })), kinds.map((k) => data.errors[k]), 'req/s');
if (data.hasQueue) chart('queue', [{ label: 'queue size' }], [data.queue], 'requests');
else { const el = document.getElementById('queue'); el.textContent = 'the target did not report a queue size'; el.className = 'note'; }
if (data.hasReplicas) chart('replicas', data.hasDesired ? [{ label: 'ready' }, { label: 'desired', dash: [4, 4] }] : [{ label: 'ready' }], data.hasDesired ? [data.ready, data.desired] : [data.ready], 'replicas');
else { const el = document.getElementById('replicas'); el.textContent = 'the target does not expose GET /replicas'; el.className = 'note'; }
</script>
</body>
</html>
`
}
