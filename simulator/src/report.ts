import { chartPage, embedJson, escapeHtml } from '../../common/html/uplot.ts'
import type { SeedSummary } from './compare.ts'
import type { SimulationResult } from './simulation.ts'

export interface ScaleRun {
  scale: number
  startupDelayMs: number
  results: SimulationResult[]
  /** Mean and range over seeds, when more than one ran. */
  seeds?: SeedSummary[]
}

const percent = (share: number) => `${(share * 100).toFixed(2)}`
/** A share as the reports print it: "1.23 %". */
export const formatShare = (share: number) => `${percent(share)} %`

const range = (s: { mean: number; min: number; max: number }) =>
  `${s.mean.toFixed(0)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]`

/**
 * Per policy: share over the SLO and replica-seconds, mean [min–max] over the seeds; with standbys measured, the
 * cost both ways: core-seconds requested (standbys at their small request) and core-seconds that must be free on
 * the nodes (every pod at its limit).
 */
export function seedTable(summaries: readonly SeedSummary[]): string {
  // Brownout's column only when a fallback answered anything, the cost columns only when standbys were measured:
  // the tables stay as they were without them.
  const brownout = summaries.some((s) => s.degradedShare.max > 0)
  const costs = summaries.some((s) => s.requestedCoreSeconds)
  const header =
    `${'policy'.padEnd(14)} ${'over SLO %, mean [range]'.padStart(26)} ${'replica-s, mean [range]'.padStart(26)} ${'p99 ms'.padStart(8)}` +
    (costs ? ` ${'requested core-s'.padStart(20)} ${'node-free core-s'.padStart(20)}` : '') +
    (brownout ? ` ${'degraded %'.padStart(10)}` : '')
  const rows = summaries.map(
    (s) =>
      `${s.policy.padEnd(14)} ${`${percent(s.slowShare.mean)} [${percent(s.slowShare.min)}–${percent(s.slowShare.max)}]`.padStart(26)} ${range(s.replicaSeconds).padStart(26)} ${s.p99Ms.toFixed(0).padStart(8)}` +
      (costs
        ? ` ${(s.requestedCoreSeconds ? range(s.requestedCoreSeconds) : '–').padStart(20)} ${(s.nodeCoreSeconds ? range(s.nodeCoreSeconds) : '–').padStart(20)}`
        : '') +
      (brownout ? ` ${percent(s.degradedShare.mean).padStart(10)}` : ''),
  )
  return [header, ...rows].join('\n')
}

export function resultsTable(results: readonly SimulationResult[]): string {
  const brownout = results.some((r) => r.degraded > 0)
  const header = `${'policy'.padEnd(14)} ${'over SLO'.padStart(9)} ${'dropped'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'mean repl'.padStart(9)} ${'max'.padStart(5)} ${'replica-s'.padStart(10)} ${'standby-s'.padStart(10)} ${'req core-s'.padStart(10)} ${'node core-s'.padStart(11)}${brownout ? ` ${'degraded'.padStart(9)}` : ''}`
  const rows = results.map(
    (r) =>
      `${r.policy.padEnd(14)} ${`${(r.slowShare * 100).toFixed(3)} %`.padStart(9)} ${String(r.dropped).padStart(8)} ${r.p50Ms.toFixed(0).padStart(8)} ${r.p99Ms.toFixed(0).padStart(8)} ${r.meanReplicas.toFixed(2).padStart(9)} ${String(r.maxReplicas).padStart(5)} ${r.replicaSeconds.toFixed(0).padStart(10)} ${r.standbySeconds.toFixed(0).padStart(10)} ${r.requestedCoreSeconds.toFixed(0).padStart(10)} ${r.nodeCoreSeconds.toFixed(0).padStart(11)}${brownout ? ` ${`${percent(r.requests === 0 ? 0 : r.degraded / r.requests)} %`.padStart(9)}` : ''}`,
  )
  return [header, ...rows].join('\n')
}

/** One self-contained page: per scale, a table, p99 latency per second and replicas over time for every policy. */
export function simulationHtml(title: string, subtitle: string, runs: readonly ScaleRun[], sloMs: number): string {
  const sections = runs
    .map(
      (run, i) => `<h2>Arrivals ×${run.scale}, start-up ${(run.startupDelayMs / 1000).toFixed(1)} s</h2>
<pre>${escapeHtml(resultsTable(run.results))}${run.seeds && run.seeds[0]!.seeds > 1 ? `\n\nmean [range] over ${run.seeds[0]!.seeds} seeds:\n${escapeHtml(seedTable(run.seeds))}` : ''}</pre>
<h3>p99 latency per second (ms, log scale), with the SLO</h3><div id="latency-${i}"></div>
<h3>Replicas (the cores paid for)</h3><div id="replicas-${i}"></div>`,
    )
    .join('\n')
  const data = runs.map((run) => ({
    seconds: run.results[0]?.timeline.map((t) => t.second) ?? [],
    policies: run.results.map((r) => ({
      name: r.policy,
      p99: r.timeline.map((t) => t.p99),
      replicas: r.timeline.map((t) => t.replicas),
    })),
  }))
  return chartPage(
    title,
    `<p>${escapeHtml(subtitle)}</p>
${sections}`,
    `const runs = ${embedJson(data)};
const slo = ${sloMs};
const palette = ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c', '#7f7f7f', '#9467bd'];
const width = () => Math.min(1100, document.body.clientWidth);
runs.forEach((run, i) => {
  const series = (field) => run.policies.map((p, j) => ({ label: p.name, stroke: palette[j % palette.length], width: 1.5 }));
  new uPlot({ width: width(), height: 260, scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: 'second' }, { label: 'ms' }],
    series: [{ label: 's' }, ...series('p99'), { label: 'SLO', stroke: '#000', dash: [6, 4] }] },
    [run.seconds, ...run.policies.map((p) => p.p99), run.seconds.map(() => slo)], document.getElementById('latency-' + i));
  new uPlot({ width: width(), height: 220, scales: { x: { time: false } }, axes: [{ label: 'second' }, { label: 'replicas' }],
    series: [{ label: 's' }, ...series('replicas')] },
    [run.seconds, ...run.policies.map((p) => p.replicas)], document.getElementById('replicas-' + i));
});
`,
  )
}
