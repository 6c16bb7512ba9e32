import { percentileOfSorted } from '../../common/percentile.ts'

/** One second of what the live page shows. */
export interface LiveSecond {
  /** Start of the second, epoch ms. */
  t: number
  /** Prediction requests answered in this second (any status). */
  answered: number
  /** Of which 200. */
  ok: number
  /** Of those, answered by a model's fallback (brownout). */
  degraded: number
  p50: number | null
  p99: number | null
  /** Gauges, sampled once a second: the largest queue seen, replicas ready and desired (null before the first sample). */
  queue: number | null
  ready: number | null
  desired: number | null
}

/** Latencies kept per second: enough for a stable p99, bounded whatever the traffic. */
const SAMPLES_PER_SECOND = 2000

interface Bucket {
  second: number
  latencies: number[]
  answered: number
  ok: number
  degraded: number
  queue: number
  ready: number
  desired: number
}

/**
 * The last `seconds` seconds, one bucket per second, for the web page: answers and their latencies as they happen,
 * gauges when sampled. Plain data and a clock passed in, so it is tested without timers.
 */
export class LiveStats {
  readonly #seconds: number
  readonly #buckets: Bucket[] = []

  constructor(seconds = 60) {
    this.#seconds = seconds
  }

  recordAnswer(nowMs: number, latencyMs: number, status: number, degraded = false): void {
    const bucket = this.#bucket(nowMs)
    bucket.answered++
    if (status === 200) bucket.ok++
    if (status === 200 && degraded) bucket.degraded++
    // Only successful answers have a latency a user waited for; errors are fast by design and would flatter p99.
    if (status === 200 && bucket.latencies.length < SAMPLES_PER_SECOND) bucket.latencies.push(latencyMs)
  }

  sampleGauges(nowMs: number, gauges: { queue: number; ready: number; desired: number }): void {
    const bucket = this.#bucket(nowMs)
    bucket.queue = Math.max(bucket.queue, gauges.queue)
    bucket.ready = gauges.ready
    bucket.desired = gauges.desired
  }

  /** Every second of the window, oldest first, empty seconds included, and the window's own percentiles. */
  snapshot(nowMs: number): {
    seconds: LiveSecond[]
    minute: { answered: number; degraded: number; p50: number | null; p99: number | null }
  } {
    const current = Math.floor(nowMs / 1000)
    const bySecond = new Map(this.#buckets.map((b) => [b.second, b]))
    const seconds: LiveSecond[] = []
    const all: number[] = []
    let answered = 0
    let degraded = 0
    let last: Bucket | undefined
    for (let second = current - this.#seconds + 1; second <= current; second++) {
      const bucket = bySecond.get(second)
      if (bucket) last = bucket
      const latencies = bucket ? [...bucket.latencies].sort((a, b) => a - b) : []
      all.push(...latencies)
      answered += bucket?.answered ?? 0
      degraded += bucket?.degraded ?? 0
      seconds.push({
        t: second * 1000,
        answered: bucket?.answered ?? 0,
        ok: bucket?.ok ?? 0,
        degraded: bucket?.degraded ?? 0,
        p50: percentileOrNull(latencies, 0.5),
        p99: percentileOrNull(latencies, 0.99),
        // A second without a sample keeps the last gauges seen (nothing changed that we know of).
        queue: bucket?.queue ?? (last ? 0 : null),
        ready: bucket?.ready ?? last?.ready ?? null,
        desired: bucket?.desired ?? last?.desired ?? null,
      })
    }
    all.sort((a, b) => a - b)
    return {
      seconds,
      minute: { answered, degraded, p50: percentileOrNull(all, 0.5), p99: percentileOrNull(all, 0.99) },
    }
  }

  #bucket(nowMs: number): Bucket {
    const second = Math.floor(nowMs / 1000)
    const newest = this.#buckets[this.#buckets.length - 1]
    if (newest?.second === second) return newest
    if (newest && second < newest.second) {
      // A late event (clock steps are rare): count it in the newest second rather than rewrite history.
      return newest
    }
    const bucket: Bucket = {
      second,
      latencies: [],
      answered: 0,
      ok: 0,
      degraded: 0,
      queue: 0,
      ready: newest?.ready ?? 0,
      desired: newest?.desired ?? 0,
    }
    this.#buckets.push(bucket)
    while (this.#buckets.length > 0 && this.#buckets[0]!.second <= second - this.#seconds) this.#buckets.shift()
    return bucket
  }
}

/** The common percentile, null for a second without answers (JSON has no NaN). */
function percentileOrNull(sorted: readonly number[], p: number): number | null {
  return sorted.length === 0 ? null : percentileOfSorted(sorted, p)
}
