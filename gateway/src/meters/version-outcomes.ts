import { percentileOfSorted } from '../../../common/percentile.ts'

/** How one request to a model version ended, as the canary rule and the live panel count it. */
export interface VersionOutcome {
  /** `NAME@VERSION`. */
  key: string
  /** Epoch ms. */
  at: number
  /** false: the version failed it (5xx, no answer); client errors are not recorded at all. */
  ok: boolean
  /** Upstream latency of a successful answer, ms. */
  latencyMs?: number
}

export interface VersionWindowStats {
  requests: number
  errors: number
  p50Ms: number
  p95Ms: number
}

/**
 * The last `windowMs` of outcomes per model version (at most `maxSamples` each, the newest kept): what the canary
 * monitor compares and the live panel shows. Old samples are dropped as new ones arrive and when read.
 */
export class VersionOutcomes {
  readonly #samples = new Map<string, VersionOutcome[]>()
  readonly #windowMs: number
  readonly #maxSamples: number

  constructor(windowMs: number, maxSamples = 10_000) {
    this.#windowMs = windowMs
    this.#maxSamples = maxSamples
  }

  record(outcome: VersionOutcome): void {
    let samples = this.#samples.get(outcome.key)
    if (!samples) {
      samples = []
      this.#samples.set(outcome.key, samples)
    }
    samples.push(outcome)
    this.#prune(samples, outcome.at)
    if (samples.length > this.#maxSamples) samples.splice(0, samples.length - this.#maxSamples)
  }

  /** The window ending at `now`, from `since` (epoch ms) if that is later: a canary counts from its start. */
  stats(key: string, now: number, since = 0): VersionWindowStats {
    const samples = this.#samples.get(key) ?? []
    this.#prune(samples, now)
    let requests = 0
    let errors = 0
    const latencies: number[] = []
    for (const sample of samples) {
      if (sample.at < since) continue
      requests++
      if (!sample.ok) errors++
      else if (sample.latencyMs !== undefined) latencies.push(sample.latencyMs)
    }
    const sorted = Float64Array.from(latencies).sort()
    return { requests, errors, p50Ms: percentileOfSorted(sorted, 0.5), p95Ms: percentileOfSorted(sorted, 0.95) }
  }

  /** Versions with samples in the window. */
  keys(now: number): string[] {
    const keys: string[] = []
    for (const [key, samples] of this.#samples) {
      this.#prune(samples, now)
      if (samples.length > 0) keys.push(key)
    }
    return keys
  }

  #prune(samples: VersionOutcome[], now: number): void {
    const cutoff = now - this.#windowMs
    let drop = 0
    while (drop < samples.length && samples[drop]!.at < cutoff) drop++
    if (drop > 0) samples.splice(0, drop)
  }
}
