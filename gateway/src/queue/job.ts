import type { ErrorCode } from '../../../common/errors.ts'

export type Priority = 'normal' | 'low'

/** The replica's answer, passed on to the client (the gateway adds its fields on success). */
export interface UpstreamAnswer {
  status: number
  body: Buffer
  replica: string
  upstreamMs: number
}

export type JobOutcome =
  | { kind: 'answer'; answer: UpstreamAnswer }
  | { kind: 'error'; code: ErrorCode; message: string; retryAfterSeconds?: number }

export interface JobInit {
  id: string
  body: Buffer
  contentType: string
  /** The model asked for; undefined = the replicas' default. */
  model: string | undefined
  priority: Priority
  /** When its time runs out, `performance.now()` ms. */
  deadline: number
  /** Aborts when the client disconnects. */
  clientGone: AbortSignal
}

/** What happens when a job's time runs out or its client leaves while it is unsettled. */
export interface JobWatchers {
  onDeadline: (job: Job) => void
  onClientGone: (job: Job) => void
}

/**
 * One accepted prediction request, from admission until it is answered, and the owner of its own lifecycle: it
 * settles exactly once (later outcomes are ignored), and once watched it runs its deadline timer and listens for
 * its client leaving, both undone when it settles. Times are `performance.now()` ms: a job never reads the wall clock.
 */
export class Job {
  readonly id: string
  readonly body: Buffer
  /** Bytes held in the queue (the body length). */
  readonly size: number
  readonly contentType: string
  readonly model: string | undefined
  readonly priority: Priority
  readonly deadline: number
  readonly clientGone: AbortSignal
  /** Resolves with the outcome, once. */
  readonly outcome: Promise<JobOutcome>
  /** Replicas already tried: a retry goes elsewhere. */
  readonly tried = new Set<string>()
  /** When it last joined the queue. */
  enqueuedAt: number
  /** Time spent queued, summed over attempts. */
  queueMs = 0
  attempts = 0
  #settled = false
  #resolve: (outcome: JobOutcome) => void
  #timer: NodeJS.Timeout | undefined
  #onAbort: (() => void) | undefined

  constructor(init: JobInit, now = performance.now()) {
    this.id = init.id
    this.body = init.body
    this.size = init.body.length
    this.contentType = init.contentType
    this.model = init.model
    this.priority = init.priority
    this.deadline = init.deadline
    this.clientGone = init.clientGone
    this.enqueuedAt = now
    const { promise, resolve } = Promise.withResolvers<JobOutcome>()
    this.outcome = promise
    this.#resolve = resolve
  }

  get settled(): boolean {
    return this.#settled
  }

  /** Time left until the deadline, ms (negative once past). */
  timeLeft(now = performance.now()): number {
    return this.deadline - now
  }

  /**
   * Starts the deadline timer (from `now`, the caller's clock reading) and the client-gone listener; each calls back
   * only while the job is unsettled.
   */
  watch(watchers: JobWatchers, now = performance.now()): void {
    this.#timer = setTimeout(() => this.#settled || watchers.onDeadline(this), Math.max(0, this.timeLeft(now)))
    this.#onAbort = () => this.#settled || watchers.onClientGone(this)
    this.clientGone.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Leaves the queue for an attempt: counts the attempt and the wait. Returns the wait, ms. */
  startAttempt(now = performance.now()): number {
    const waited = now - this.enqueuedAt
    this.queueMs += waited
    this.attempts++
    return waited
  }

  /** Joins the queue again, for a retry. */
  requeue(now = performance.now()): void {
    this.enqueuedAt = now
  }

  /** Settles the job; false if it already was (the first outcome stands). */
  settle(outcome: JobOutcome): boolean {
    if (this.#settled) return false
    this.#settled = true
    clearTimeout(this.#timer)
    if (this.#onAbort) this.clientGone.removeEventListener('abort', this.#onAbort)
    this.#resolve(outcome)
    return true
  }
}
