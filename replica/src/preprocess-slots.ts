import { DroppedWork } from './dropped-work.ts'

interface Waiter {
  deadline: number
  signal: AbortSignal | undefined
  grant: (release: () => void) => void
  drop: (error: DroppedWork) => void
  stopListening: () => void
}

/**
 * At most `slots` images are decoded at once, the others wait here in arrival order (not in libuv's queue, where
 * nothing can take them back). A waiter whose client goes away leaves at once; one whose deadline passed is dropped
 * when its turn comes. Either way its image is never decoded. A slot is held until its holder releases it, even
 * if that holder's client has gone meanwhile, so the bound holds for the work actually running.
 */
export class PreprocessSlots {
  readonly #slots: number
  readonly #now: () => number
  readonly #waiting: Waiter[] = []
  #busy = 0
  #started = 0

  constructor(slots: number, now: () => number = () => performance.now()) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError('slots must be a positive integer')
    this.#slots = slots
    this.#now = now
  }

  /** Images being decoded now. */
  get busy(): number {
    return this.#busy
  }

  /** Slots granted so far: images whose decoding started. */
  get started(): number {
    return this.#started
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length
  }

  /**
   * Resolves with the function that gives the slot back (once; later calls do nothing), or rejects with DroppedWork
   * (stage `preprocess`) if the client has gone or the deadline (on the `now` clock) passes before a slot is free.
   */
  acquire(deadline = Number.POSITIVE_INFINITY, signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const dropped = this.#dropReason(deadline, signal)
      if (dropped) return reject(dropped)
      if (this.#busy < this.#slots && this.#waiting.length === 0) return resolve(this.#take())
      const waiter: Waiter = { deadline, signal, grant: resolve, drop: reject, stopListening: () => {} }
      if (signal) {
        const onAbort = () => this.#leave(waiter)
        signal.addEventListener('abort', onAbort, { once: true })
        waiter.stopListening = () => signal.removeEventListener('abort', onAbort)
      }
      this.#waiting.push(waiter)
    })
  }

  #take(): () => void {
    this.#busy++
    this.#started++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#busy--
      this.#grantNext()
    }
  }

  #grantNext(): void {
    while (this.#busy < this.#slots && this.#waiting.length > 0) {
      const next = this.#waiting.shift()!
      next.stopListening()
      const dropped = this.#dropReason(next.deadline, next.signal)
      if (dropped) next.drop(dropped)
      else next.grant(this.#take())
    }
  }

  #leave(waiter: Waiter): void {
    const at = this.#waiting.indexOf(waiter)
    if (at === -1) return
    this.#waiting.splice(at, 1)
    waiter.drop(new DroppedWork('client_closed', 'preprocess'))
  }

  #dropReason(deadline: number, signal: AbortSignal | undefined): DroppedWork | undefined {
    if (signal?.aborted) return new DroppedWork('client_closed', 'preprocess')
    if (deadline <= this.#now()) return new DroppedWork('deadline_exceeded', 'preprocess')
    return undefined
  }
}
