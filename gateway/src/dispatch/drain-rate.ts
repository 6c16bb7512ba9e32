import { SlidingWindowCounter } from './sliding-window.ts'

/**
 * Completions per second over the last few seconds, for the `Retry-After` a full queue suggests: the time the
 * queue ahead would take to drain at the current pace.
 */
export class DrainRate {
  readonly #completions: SlidingWindowCounter

  constructor(windowMs = 5000) {
    this.#completions = new SlidingWindowCounter(windowMs, 10, performance.now())
  }

  record(now: number): void {
    this.#completions.add(now)
  }

  perSecond(now: number): number {
    return (this.#completions.total(now) * 1000) / this.#completions.windowMs
  }

  /** Seconds until `queued` jobs would be served, at least 1, at most `max`. */
  retryAfterSeconds(queued: number, now: number, max = 30): number {
    const rate = this.perSecond(now)
    if (rate <= 0) return Math.min(max, 2)
    return Math.min(max, Math.max(1, Math.ceil(queued / rate)))
  }
}
