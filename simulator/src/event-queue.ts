/** A binary min-heap of timed events; equal times come out in insertion order, so runs are reproducible. */
export class EventQueue<T> {
  readonly #times: number[] = []
  readonly #seqs: number[] = []
  readonly #items: T[] = []
  #seq = 0

  get size(): number {
    return this.#items.length
  }

  peekTime(): number | undefined {
    return this.#times[0]
  }

  push(time: number, item: T): void {
    this.#times.push(time)
    this.#seqs.push(this.#seq++)
    this.#items.push(item)
    this.#up(this.#items.length - 1)
  }

  pop(): { time: number; item: T } | undefined {
    if (this.#items.length === 0) return undefined
    const top = { time: this.#times[0]!, item: this.#items[0]! }
    const last = this.#items.length - 1
    this.#swap(0, last)
    this.#times.pop()
    this.#seqs.pop()
    this.#items.pop()
    this.#down(0)
    return top
  }

  #before(a: number, b: number): boolean {
    return this.#times[a]! < this.#times[b]! || (this.#times[a] === this.#times[b] && this.#seqs[a]! < this.#seqs[b]!)
  }

  #swap(a: number, b: number): void {
    ;[this.#times[a], this.#times[b]] = [this.#times[b]!, this.#times[a]!]
    ;[this.#seqs[a], this.#seqs[b]] = [this.#seqs[b]!, this.#seqs[a]!]
    ;[this.#items[a], this.#items[b]] = [this.#items[b]!, this.#items[a]!]
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#before(i, parent)) return
      this.#swap(i, parent)
      i = parent
    }
  }

  #down(i: number): void {
    const n = this.#items.length
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < n && this.#before(left, smallest)) smallest = left
      if (right < n && this.#before(right, smallest)) smallest = right
      if (smallest === i) return
      this.#swap(i, smallest)
      i = smallest
    }
  }
}
