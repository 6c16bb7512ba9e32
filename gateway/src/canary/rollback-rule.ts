/**
 * When a canary is rolled back: a pure rule over what candidate and production did in the same sliding window.
 *
 * With at least `minSamples` requests to each, the candidate is rolled back when
 * - its error rate (5xx, failures, no answer) exceeds production's by more than `maxErrorRateIncrease`
 *   (default 0.01, one point), or
 * - with at least `minSamples` answers each, its p95 latency exceeds production's by more than `maxP95Increase`
 *   (default 0.10, the gate's +10 %) plus `p95SlackMs` (a few ms, so timer jitter on fast models is not a regression).
 * Otherwise it keeps running (or waits for samples). The thresholds, and their defaults, are the CANARY_* settings
 * (versions/settings.ts).
 */
export interface WindowStats {
  requests: number
  /** Requests the version failed (not the client's fault). */
  errors: number
  /** p95 of the successful answers' latency, ms (NaN without answers). */
  p95Ms: number
}

export interface RollbackRule {
  minSamples: number
  maxErrorRateIncrease: number
  maxP95Increase: number
  p95SlackMs: number
}

export type CanaryVerdict =
  | { verdict: 'wait'; reason: string }
  | { verdict: 'keep'; reason: string }
  | { verdict: 'rollback'; rule: 'error_rate' | 'p95'; reason: string }

export function canaryVerdict(candidate: WindowStats, production: WindowStats, rule: RollbackRule): CanaryVerdict {
  if (candidate.requests < rule.minSamples || production.requests < rule.minSamples) {
    return {
      verdict: 'wait',
      reason: `${candidate.requests} candidate and ${production.requests} production requests, ${rule.minSamples} each needed`,
    }
  }
  const candidateRate = candidate.errors / candidate.requests
  const productionRate = production.errors / production.requests
  if (candidateRate > productionRate + rule.maxErrorRateIncrease) {
    return {
      verdict: 'rollback',
      rule: 'error_rate',
      reason:
        `error rate ${percent(candidateRate)} against production's ${percent(productionRate)} ` +
        `(more than ${percent(rule.maxErrorRateIncrease)} worse, over ${candidate.requests} and ${production.requests} requests)`,
    }
  }
  const answered = (s: WindowStats) => s.requests - s.errors
  if (answered(candidate) >= rule.minSamples && answered(production) >= rule.minSamples) {
    const limit = production.p95Ms * (1 + rule.maxP95Increase) + rule.p95SlackMs
    if (candidate.p95Ms > limit) {
      return {
        verdict: 'rollback',
        rule: 'p95',
        reason:
          `p95 ${round(candidate.p95Ms)} ms against production's ${round(production.p95Ms)} ms ` +
          `(limit ${round(limit)} ms: +${percent(rule.maxP95Increase)} + ${rule.p95SlackMs} ms)`,
      }
    }
  }
  return {
    verdict: 'keep',
    reason: `error rate ${percent(candidateRate)} vs ${percent(productionRate)}, p95 ${round(candidate.p95Ms)} vs ${round(production.p95Ms)} ms`,
  }
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10} %`
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}
