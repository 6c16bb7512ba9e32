import { DroppedWork } from './dropped-work.ts'

export interface BatcherOptions<In, Out> {
  maxBatchSize: number
  /** How long a lone request may wait for company while the model is idle. 0 = never wait. */
  maxWaitMs: number
  runBatch: (inputs: In[]) => Promise<Out[]>
  now?: () => number
}

export interface BatchResult<Out> {
  output: Out
  /** Time spent waiting for the model, ms. */
  queueMs: number
  /** Duration of the batch this request ran in, ms. */
  inferenceMs: number
  batchSize: number
}

interface Pending<In, Out> {
  input: In
  deadline: number
  enqueuedAt: number
  resolve: (result: BatchResult<Out>) => void
  reject: (error: Error) => void
}

/**
 * Groups requests that wait for the model into batches. One batch runs at a time. While the model is busy,
 * arrivals accumulate and leave together as the next batch (up to `maxBatchSize`), so batching costs no
 * latency under load; when the model is idle, a request waits at most `maxWaitMs` for others.
 * A request whose deadline passed before its batch starts is rejected and costs no inference.
 */
export class MicroBatcher<In, Out> {
  readonly #options: Required<BatcherOptions<In, Out>>
  readonly #waiting: Pending<In, Out>[] = []
  #running = 0
  #runningSince = 0
  #timer: NodeJS.Timeout | undefined
  #onIdle: (() => void)[] = []

  constructor(options: BatcherOptions<In, Out>) {
    if (options.maxBatchSize < 1) throw new RangeError('maxBatchSize must be at least 1')
    this.#options = { now: () => performance.now(), ...options }
  }

  /** Requests waiting for the model (not counting the batch that is running). */
  get waiting(): number {
    return this.#waiting.length
  }

  /** Requests inside the batch that is running now. */
  get running(): number {
    return this.#running
  }

  /** When the running batch started (the `now` clock); meaningless while nothing runs. */
  get runningSince(): number {
    return this.#runningSince
  }

  /**
   * `deadline` is on the same clock as `now` (performance.now() by default); Infinity = none. Aborting `signal`
   * (the client went away) removes a waiting request; one already in a running batch finishes normally.
   */
  submit(input: In, deadline = Number.POSITIVE_INFINITY, signal?: AbortSignal): Promise<BatchResult<Out>> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new DroppedWork('client_closed', 'inference'))
      const pending: Pending<In, Out> = { input, deadline, enqueuedAt: this.#options.now(), resolve, reject }
      this.#waiting.push(pending)
      signal?.addEventListener('abort', () => this.#remove(pending), { once: true })
      this.#schedule()
    })
  }

  #remove(pending: Pending<In, Out>): void {
    const at = this.#waiting.indexOf(pending)
    if (at === -1) return
    this.#waiting.splice(at, 1)
    pending.reject(new DroppedWork('client_closed', 'inference'))
    if (this.#waiting.length === 0 && this.#running === 0) this.#settle()
  }

  /** Resolves once nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#onIdle.push(resolve))
  }

  #schedule(): void {
    if (this.#running > 0 || this.#waiting.length === 0) return
    const { maxBatchSize, maxWaitMs, now } = this.#options
    const oldest = this.#waiting[0]!
    const waitLeft = oldest.enqueuedAt + maxWaitMs - now()
    if (this.#waiting.length >= maxBatchSize || waitLeft <= 0) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      void this.#runNext()
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#schedule()
      }, waitLeft)
    }
  }

  async #runNext(): Promise<void> {
    const { maxBatchSize, runBatch, now } = this.#options
    const startedAt = now()
    const batch: Pending<In, Out>[] = []
    while (batch.length < maxBatchSize && this.#waiting.length > 0) {
      const next = this.#waiting.shift()!
      if (next.deadline <= startedAt) {
        next.reject(new DroppedWork('deadline_exceeded', 'inference'))
      } else {
        batch.push(next)
      }
    }
    if (batch.length === 0) return this.#settle()
    this.#running = batch.length
    this.#runningSince = startedAt
    try {
      const outputs = await runBatch(batch.map((p) => p.input))
      const inferenceMs = now() - startedAt
      for (const [i, p] of batch.entries()) {
        p.resolve({ output: outputs[i]!, queueMs: startedAt - p.enqueuedAt, inferenceMs, batchSize: batch.length })
      }
    } catch (error) {
      for (const p of batch) p.reject(error instanceof Error ? error : new Error(String(error)))
    }
    this.#running = 0
    this.#settle()
  }

  #settle(): void {
    if (this.#waiting.length > 0) {
      // These already waited through the previous batch: run them now rather than waiting for more.
      void this.#runNext()
      return
    }
    for (const resolve of this.#onIdle.splice(0)) resolve()
  }
}
