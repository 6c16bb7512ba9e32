import { SlidingWindowCounter } from '../measurements/sliding-window.ts'

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
 * RetryBudget).
 */
export class RetryBudget {
  readonly #options: RetryBudgetOptions
  readonly #requests: SlidingWindowCounter
  readonly #retries: SlidingWindowCounter

  constructor(options: RetryBudgetOptions, now: number) {
    this.#options = options
    this.#requests = new SlidingWindowCounter(options.windowMs, 100, now)
    this.#retries = new SlidingWindowCounter(options.windowMs, 100, now)
  }

  recordRequest(now: number): void {
    this.#requests.add(now)
  }

  /** Spends one retry if the budget allows it; false means: do not retry. */
  tryRetry(now: number): boolean {
    const allowed = Math.max(this.#options.minRetries, this.#options.ratio * this.#requests.total(now))
    if (this.#retries.total(now) >= allowed) return false
    this.#retries.add(now)
    return true
  }
}
