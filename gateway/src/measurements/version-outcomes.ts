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
  readonly #samples = new Map<string, Samples>()
  readonly #windowMs: number
  readonly #maxSamples: number

  constructor(windowMs: number, maxSamples = 10_000) {
    this.#windowMs = windowMs
    this.#maxSamples = maxSamples
  }

  record(outcome: VersionOutcome): void {
    let samples = this.#samples.get(outcome.key)
    if (!samples) {
      samples = { items: [], head: 0 }
      this.#samples.set(outcome.key, samples)
    }
    samples.items.push(outcome)
    this.#prune(samples, outcome.at)
    const over = samples.items.length - samples.head - this.#maxSamples
    if (over > 0) this.#drop(samples, over)
  }

  /** The window ending at `now`, from `since` (epoch ms) if that is later: a canary counts from its start. */
  stats(key: string, now: number, since = 0): VersionWindowStats {
    const samples = this.#samples.get(key) ?? { items: [], head: 0 }
    this.#prune(samples, now)
    let requests = 0
    let errors = 0
    const latencies: number[] = []
    for (let i = samples.head; i < samples.items.length; i++) {
      const sample = samples.items[i]!
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
      if (samples.items.length > samples.head) keys.push(key)
    }
    return keys
  }

  #prune(samples: Samples, now: number): void {
    const cutoff = now - this.#windowMs
    let drop = 0
    while (samples.head + drop < samples.items.length && samples.items[samples.head + drop]!.at < cutoff) drop++
    if (drop > 0) this.#drop(samples, drop)
  }

  /**
   * Drops the oldest `count` samples by moving the head: splicing the front off on every request moved the whole
   * window (up to maxSamples entries) each time. The dead prefix is cut once it is half the array (amortised O(1)).
   */
  #drop(samples: Samples, count: number): void {
    samples.head += count
    if (samples.head >= 1024 && samples.head * 2 >= samples.items.length) {
      samples.items.splice(0, samples.head)
      samples.head = 0
    }
  }
}

/** One version's samples, oldest first, from `head` on (those before it have left the window). */
interface Samples {
  items: VersionOutcome[]
  head: number
}
