export interface RetryBudgetOptions {
  /** Retries allowed as a share of requests in the window (0.2 = 20 %). */
  ratio: number
  windowMs: number
  /** Retries always allowed per window, so a quiet gateway can still retry. */
  minRetries: number
}

/**
 * A sliding-window retry budget: retries may not exceed `ratio` of recent requests (plus a small floor), so that
 * when replicas fail together, retries cannot multiply the load on the ones left (Envoy's retry budgets, Finagle's
 * RetryBudget). Counts are kept per 100 ms bucket.
 */
export class RetryBudget {
  readonly #options: RetryBudgetOptions
  readonly #bucketMs: number
  readonly #requests: number[]
  readonly #retries: number[]
  #bucketStart = 0
  #head = 0

  constructor(options: RetryBudgetOptions, now: number) {
    this.#options = options
    const buckets = 100
    this.#bucketMs = options.windowMs / buckets
    this.#requests = new Array(buckets).fill(0)
    this.#retries = new Array(buckets).fill(0)
    this.#bucketStart = now
  }

  recordRequest(now: number): void {
    this.#advance(now)
    this.#requests[this.#head]!++
  }

  /** Spends one retry if the budget allows it; false means: do not retry. */
  tryRetry(now: number): boolean {
    this.#advance(now)
    const requests = this.#requests.reduce((a, b) => a + b, 0)
    const retries = this.#retries.reduce((a, b) => a + b, 0)
    if (retries >= Math.max(this.#options.minRetries, this.#options.ratio * requests)) return false
    this.#retries[this.#head]!++
    return true
  }

  #advance(now: number): void {
    const steps = Math.floor((now - this.#bucketStart) / this.#bucketMs)
    if (steps <= 0) return
    for (let i = 0; i < Math.min(steps, this.#requests.length); i++) {
      this.#head = (this.#head + 1) % this.#requests.length
      this.#requests[this.#head] = 0
      this.#retries[this.#head] = 0
    }
    this.#bucketStart += steps * this.#bucketMs
  }
}
