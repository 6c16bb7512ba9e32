/**
 * Completions per second at the current pace: for the `Retry-After` a full queue suggests, and for admission's
 * estimate of how long the queue ahead takes to drain (see admission/admission.ts).
 *
 * The pace is measured between the oldest and the newest of the recent completions (at most `capacity` of them,
 * none older than `windowMs`), not as a count over the whole window: right after a start or a quiet spell, a
 * count over 5 s would say a replica serving one job every 100 ms drains 0.4 per second, and admission would turn
 * away requests it could serve in time.
 */
export class DrainRate {
  readonly windowMs: number
  readonly #times: Float64Array
  #next = 0
  #count = 0

  constructor(windowMs = 5000, capacity = 64) {
    this.windowMs = windowMs
    this.#times = new Float64Array(capacity)
  }

  record(now: number): void {
    this.#times[this.#next] = now
    this.#next = (this.#next + 1) % this.#times.length
    this.#count = Math.min(this.#count + 1, this.#times.length)
  }

  /**
   * Completions per second between the oldest and the newest recent completion, or undefined until two of them,
   * at different instants, say what the pace is (one answer, or a batch answered at once, does not).
   */
  pace(now: number): number | undefined {
    const { recent, oldest, newest } = this.#recent(now)
    return newest > oldest ? ((recent - 1) * 1000) / (newest - oldest) : undefined
  }

  /** The pace where it is known; else the recent completions counted over the window (0 when there are none). */
  perSecond(now: number): number {
    return this.pace(now) ?? (this.#recent(now).recent * 1000) / this.windowMs
  }

  #recent(now: number): { recent: number; oldest: number; newest: number } {
    const capacity = this.#times.length
    const newest = this.#times[(this.#next - 1 + capacity) % capacity]!
    let oldest = newest
    let recent = 0
    for (let i = 1; i <= this.#count; i++) {
      const time = this.#times[(this.#next - i + capacity) % capacity]!
      if (now - time > this.windowMs) break
      oldest = time
      recent++
    }
    return { recent, oldest, newest }
  }
}
