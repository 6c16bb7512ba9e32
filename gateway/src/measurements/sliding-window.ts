/**
 * Counts events over the last `windowMs`, in `buckets` slots of equal width: O(1) to record and O(buckets) to sum,
 * whatever the rate. Used for the retry budget and the autoscaler's arrival rates.
 */
export class SlidingWindowCounter {
  readonly windowMs: number
  readonly #bucketMs: number
  readonly #counts: number[]
  #head = 0
  #headStart: number

  constructor(windowMs: number, buckets: number, now: number) {
    this.windowMs = windowMs
    this.#bucketMs = windowMs / buckets
    this.#counts = new Array(buckets).fill(0)
    this.#headStart = now
  }

  add(now: number, amount = 1): void {
    this.#advance(now)
    this.#counts[this.#head]! += amount
  }

  total(now: number): number {
    this.#advance(now)
    let sum = 0
    for (const count of this.#counts) sum += count
    return sum
  }

  #advance(now: number): void {
    const steps = Math.floor((now - this.#headStart) / this.#bucketMs)
    if (steps <= 0) return
    for (let i = 0; i < Math.min(steps, this.#counts.length); i++) {
      this.#head = (this.#head + 1) % this.#counts.length
      this.#counts[this.#head] = 0
    }
    this.#headStart += steps * this.#bucketMs
  }
}
