/**
 * Completions per second over the last few seconds, for the `Retry-After` a full queue suggests: the time the
 * queue ahead would take to drain at the current pace.
 */
export class DrainRate {
  readonly #windowMs: number
  readonly #completions: number[] = []

  constructor(windowMs = 5000) {
    this.#windowMs = windowMs
  }

  record(now: number): void {
    this.#completions.push(now)
    this.#trim(now)
  }

  perSecond(now: number): number {
    this.#trim(now)
    return (this.#completions.length * 1000) / this.#windowMs
  }

  /** Seconds until `queued` jobs would be served, at least 1, at most `max`. */
  retryAfterSeconds(queued: number, now: number, max = 30): number {
    const rate = this.perSecond(now)
    if (rate <= 0) return Math.min(max, 2)
    return Math.min(max, Math.max(1, Math.ceil(queued / rate)))
  }

  #trim(now: number): void {
    while (this.#completions.length > 0 && this.#completions[0]! < now - this.#windowMs) this.#completions.shift()
  }
}
