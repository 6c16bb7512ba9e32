/** The figures of one evaluation that the gate compares (a batch job's results: see batch/batch-results.ts). */
export interface Evaluated {
  /** Images whose label was known, what accuracy is over. */
  evaluated: number
  top1_accuracy: number | null
  latency_ms: { p95: number } | null
}

export interface GateThresholds {
  /** Largest drop of top-1 accuracy allowed, as a share (0.01 = 1 point). */
  maxAccuracyDrop: number
  /** Largest growth of p95 latency allowed, as a share of the baseline's (0.10 = +10 %). */
  maxP95Increase: number
}

export const DEFAULT_GATE_THRESHOLDS: GateThresholds = { maxAccuracyDrop: 0.01, maxP95Increase: 0.1 }

export interface GateRow {
  rule: string
  baseline: number | null
  candidate: number | null
  /** The worst the candidate may be. */
  limit: number | null
  pass: boolean
  /** Why it failed when the figures could not be compared. */
  note?: string
}

export interface GateVerdict {
  pass: boolean
  rows: GateRow[]
}

/**
 * A candidate passes when its top-1 accuracy is at most `maxAccuracyDrop` below the baseline's and its p95 latency at
 * most `maxP95Increase` above it, both measured on the same images. Figures that are missing, or evaluations over
 * different numbers of images, fail the rule they concern: a gate never passes on what it could not compare.
 */
export function gateVerdict(
  baseline: Evaluated,
  candidate: Evaluated,
  thresholds: GateThresholds = DEFAULT_GATE_THRESHOLDS,
): GateVerdict {
  const sameImages = baseline.evaluated === candidate.evaluated && baseline.evaluated > 0
  const accuracyLimit = baseline.top1_accuracy === null ? null : baseline.top1_accuracy - thresholds.maxAccuracyDrop
  const accuracy: GateRow = {
    rule: `top-1 accuracy drop ≤ ${round(thresholds.maxAccuracyDrop * 100)} point(s)`,
    baseline: baseline.top1_accuracy,
    candidate: candidate.top1_accuracy,
    limit: accuracyLimit,
    // A tolerance of a few ulps: 0.596 − 0.01 must not fail a candidate at exactly 0.586.
    pass:
      sameImages &&
      accuracyLimit !== null &&
      candidate.top1_accuracy !== null &&
      candidate.top1_accuracy >= accuracyLimit - 1e-12,
    ...(!sameImages && { note: `evaluated ${baseline.evaluated} vs ${candidate.evaluated} images` }),
  }
  const p95Limit = baseline.latency_ms === null ? null : baseline.latency_ms.p95 * (1 + thresholds.maxP95Increase)
  const candidateP95 = candidate.latency_ms?.p95 ?? null
  const latency: GateRow = {
    rule: `p95 latency ≤ +${round(thresholds.maxP95Increase * 100)} %`,
    baseline: baseline.latency_ms?.p95 ?? null,
    candidate: candidateP95,
    limit: p95Limit,
    pass: p95Limit !== null && candidateP95 !== null && candidateP95 <= p95Limit,
    ...((p95Limit === null || candidateP95 === null) && { note: 'no latency measured' }),
  }
  return { pass: accuracy.pass && latency.pass, rows: [accuracy, latency] }
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
