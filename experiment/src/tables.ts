import type { SeedSummary } from '../../simulator/src/compare.ts'
import { formatShare } from '../../simulator/src/report.ts'
import type { PodRecord } from './local-cluster.ts'
import type { RealRunResult } from './real-run.ts'
import { STARTUP_PHASES, startupPhases } from './startup-phases.ts'

export interface PolicyOutcome {
  policy: string
  real: RealRunResult[]
  predicted: SeedSummary
}

export const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length
const pct = formatShare
const range = (values: readonly number[], format: (v: number) => string) =>
  values.length < 2 ? '' : ` [${format(Math.min(...values))}–${format(Math.max(...values))}]`

/** Real runs per policy: the mean over repeats, with the range when there is more than one. */
export function realTable(outcomes: readonly PolicyOutcome[], sloMs: number): string {
  const lines = [
    `${'policy'.padEnd(11)} ${'runs'.padStart(4)}  ${`over ${sloMs} ms or failed`.padEnd(26)} ${'replica-s'.padEnd(20)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU s'.padStart(7)} ${'throttled s'.padStart(11)}  degraded`,
  ]
  for (const { policy, real } of outcomes) {
    const shares = real.map((r) => r.slowShare)
    const cost = real.map((r) => r.replicaSeconds)
    // Brownout's answers by a fallback: 200s, in time or not, counted apart (runs from before it have none).
    const degraded = real.map((r) => r.degradedShare ?? 0)
    lines.push(
      `${policy.padEnd(11)} ${String(real.length).padStart(4)}  ${`${pct(mean(shares))}${range(shares, pct)}`.padEnd(26)} ${`${mean(cost).toFixed(0)}${range(cost, (v) => v.toFixed(0))}`.padEnd(20)} ${mean(
        real.map((r) => r.p50Ms),
      )
        .toFixed(0)
        .padStart(7)} ${mean(real.map((r) => r.p99Ms))
        .toFixed(0)
        .padStart(7)} ${mean(real.map((r) => r.cpuSeconds))
        .toFixed(0)
        .padStart(7)} ${mean(real.map((r) => r.throttledSeconds))
        .toFixed(0)
        .padStart(11)}  ${pct(mean(degraded))}${range(degraded, pct)}`,
    )
  }
  return lines.join('\n')
}

/** The issue's target for a prediction: violations within ×2 (±0.5 points below 1 %), replica-seconds within 10 %. */
export function predictionMeetsTarget(predicted: { slow: number; cost: number }, real: { slow: number; cost: number }) {
  const slowOk =
    real.slow < 0.01 && predicted.slow < 0.01
      ? Math.abs(predicted.slow - real.slow) <= 0.005
      : predicted.slow <= 2 * real.slow && predicted.slow >= real.slow / 2
  const costOk = Math.abs(predicted.cost / real.cost - 1) <= 0.1
  return { slowOk, costOk }
}

/** Predicted (simulated before the real runs, mean over seeds) beside real (mean over repeats), with the verdict. */
export function predictionTable(outcomes: readonly PolicyOutcome[]): string {
  const lines = [
    `${'policy'.padEnd(11)} ${'violations predicted / real'.padEnd(30)} ${'within target'.padEnd(14)} ${'replica-s predicted / real'.padEnd(30)} ${'within 10 %'.padEnd(12)} degraded predicted / real`,
  ]
  for (const { policy, real, predicted } of outcomes) {
    const realSlow = mean(real.map((r) => r.slowShare))
    const realCost = mean(real.map((r) => r.replicaSeconds))
    const verdict = predictionMeetsTarget(
      { slow: predicted.slowShare.mean, cost: predicted.replicaSeconds.mean },
      { slow: realSlow, cost: realCost },
    )
    const diff = `${((predicted.replicaSeconds.mean / realCost - 1) * 100).toFixed(0)} %`
    lines.push(
      `${policy.padEnd(11)} ${`${pct(predicted.slowShare.mean)} / ${pct(realSlow)}`.padEnd(30)} ${(verdict.slowOk ? 'yes' : 'NO').padEnd(14)} ${`${predicted.replicaSeconds.mean.toFixed(0)} / ${realCost.toFixed(0)} (${diff})`.padEnd(30)} ${(verdict.costOk ? 'yes' : 'NO').padEnd(12)} ${pct(predicted.degradedShare?.mean ?? 0)} / ${pct(mean(real.map((r) => r.degradedShare ?? 0)))}`,
    )
  }
  return lines.join('\n')
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Where the pods' start-ups went, phase by phase: median [min–max] ms over every pod that became ready and said
 * how. The phases inside the process are the replica's own account; the rest is the cluster's clock.
 */
export function startupTable(pods: readonly PodRecord[]): string {
  const breakdowns = pods.flatMap((pod) => {
    const phases = startupPhases(pod)
    return phases ? [phases] : []
  })
  if (breakdowns.length === 0) return 'no pod said how it started'
  const boosted = pods.filter((p) => p.boostEndedAt !== undefined)
  const lines = [
    `${breakdowns.length} pod start-up(s)` +
      (boosted.length > 0
        ? `, ${boosted.length} booted at ${boosted[0]!.bootCores} cores and lowered once ready`
        : ', no boot boost'),
    `${'phase'.padEnd(30)} ${'median ms'.padStart(10)}  range`,
  ]
  for (const phase of STARTUP_PHASES) {
    const values = breakdowns.flatMap((b) => (b[phase] === undefined ? [] : [b[phase]!]))
    if (values.length === 0) continue
    lines.push(
      `${phase.padEnd(30)} ${median(values).toFixed(0).padStart(10)}  ${range(values, (v) => v.toFixed(0)).trim() || '—'}`,
    )
  }
  return lines.join('\n')
}
