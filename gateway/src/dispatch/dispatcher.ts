import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import { createRandom } from '../../../common/random.ts'
import type { RoutingPolicy, RoutingState } from '../balancing/policies.ts'
import { worthWaitingForFaster } from '../balancing/wait-for-faster.ts'
import { DrainRate } from '../measurements/drain-rate.ts'
import type { ReadonlyReplica } from '../pool/replica.ts'
import type { AttemptEnding, AttemptReport, ReplicaPool } from '../pool/replica-pool.ts'
import type { Job, JobOutcome } from '../queue/job.ts'
import type { JobQueue, QueueRoom } from '../queue/job-queue.ts'
import type { RejectionCounter } from '../request-metrics.ts'
import { type DispatchMetrics, registerDispatchMetrics } from './dispatch-metrics.ts'
import type { AttemptResult } from './forward.ts'
import { INTERACTIVE_WINDOW_MS, mayStartLowPriority } from './low-priority-reserve.ts'
import type { RetryBudget } from './retry-budget.ts'
import { slotsToLend } from './slot-lending.ts'

export interface DispatcherOptions {
  /** Attempts in flight to replicas at most (MAX_IN_FLIGHT_TO_REPLICAS), or 'auto': the total slots of the routable replicas. */
  maxInFlight: number | 'auto'
  /**
   * With `maxInFlight: 'auto'` and a load-aware policy: slots a replica may hold while the queue is deep (see
   * slotsToLend); default: its own slots only.
   */
  slotsWhenQueued?: number
  /** Replica slots low-priority jobs leave free for normal ones (see mayStartLowPriority); default 0. */
  lowPriorityReservedSlots?: number
  /** How recent a normal job must be for that reserve to apply, ms; default INTERACTIVE_WINDOW_MS. */
  interactiveWindowMs?: number
}

export interface DispatcherDeps {
  queue: JobQueue<Job>
  pool: ReplicaPool
  policy: RoutingPolicy
  retryBudget: RetryBudget
  /** Where the dispatcher registers its metrics (dispatch-metrics.ts). */
  registry: Registry
  /** Requests it gives up on (deadline, no replica, client gone), counted with admission's refusals. */
  rejected: RejectionCounter
  log: FastifyBaseLogger
  forward: (job: Job, replica: ReadonlyReplica, signal: AbortSignal) => Promise<AttemptResult>
  /** The pool is waking from zero (admission.ts `wakingFromZero`): queued jobs wait for it instead of failing. */
  wakingUp?: () => boolean
}

/** How fast the dispatcher completes jobs: what admission estimates waits from. */
export interface DispatchPace {
  /** Completions per second at the measured pace; undefined until two answers at different instants. */
  measured: number | undefined
  /** The measured pace where known, else recent completions counted over the window (0 when none). */
  perSecond: number
}

/** Emits 'queued' for every accepted job and 'answered' (upstream ms) for every answer from a replica. */
export interface DispatcherEvents {
  queued: [job: Job]
  answered: [upstreamMs: number]
}

type ReplicaSeries = { dispatched: { inc(): void }; upstreamSeconds: { observe(value: number): void } }

/**
 * The consumer side of the gateway: it takes jobs off the bounded queue and forwards them (at most MAX_IN_FLIGHT_TO_REPLICAS at
 * once), each only when a replica has a free slot ("late binding": all waiting happens here, and the replica is
 * chosen at the last moment by the routing policy). It drops jobs whose deadline passed (504, never sent), retries failed attempts
 * on another replica within the retry budget, and fails everything fast when no replica is left. What an attempt
 * says about its replica goes to the pool, which owns replica state; each job keeps its own deadline and settles once.
 * Times are `performance.now()` ms.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly #deps: DispatcherDeps
  readonly #options: DispatcherOptions
  readonly #routing: RoutingState = { random: createRandom(Date.now() & 0xffffffff), cursor: 0 }
  readonly #drainRate = new DrainRate()
  readonly #metrics: DispatchMetrics
  /** Per-replica metric series, bound once (a labelled lookup costs a hash per call). */
  readonly #series = new WeakMap<ReadonlyReplica, ReplicaSeries>()
  #busy = 0
  /** When the last normal-priority job was accepted (performance.now() ms): is interactive traffic arriving? */
  #lastNormalAt = Number.NEGATIVE_INFINITY
  #pumping = false
  #drainedWaiters: (() => void)[] = []
  readonly #watchers = {
    onDeadline: (job: Job) => this.#onDeadline(job),
    onClientGone: (job: Job) => this.#onClientGone(job),
  }

  constructor(deps: DispatcherDeps, options: DispatcherOptions) {
    super()
    this.#deps = deps
    this.#options = options
    this.#metrics = registerDispatchMetrics(deps.registry, () => this.#busy)
    deps.pool.on('change', () => this.#onPoolChange())
  }

  /** Attempts in flight to replicas. */
  get busy(): number {
    return this.#busy
  }

  /**
   * How many attempts may be in flight: the configured number, else the routable replicas' total slots. A
   * load-oblivious policy sends at once (replicas queue), so it is only bounded by the configured number.
   */
  get maxInFlight(): number {
    if (this.#options.maxInFlight !== 'auto') return this.#options.maxInFlight
    if (!this.#deps.policy.loadAware) return Number.POSITIVE_INFINITY
    const { pool, queue } = this.#deps
    const total = pool.totalSlots()
    if (!this.#lending || queue.size === 0) return total
    const replicas = pool.readyCount()
    return total + replicas * this.#lent(queue.size, replicas, total)
  }

  /** Whether slots may be lent under a deep queue at all (REPLICA_SLOTS_WHEN_QUEUED with auto, load-aware dispatch). */
  get #lending(): boolean {
    return (
      this.#deps.policy.loadAware && this.#options.maxInFlight === 'auto' && (this.#options.slotsWhenQueued ?? 0) > 0
    )
  }

  /** Slots lent to each replica now (0 unless the queue is deep); uniform slots assumed. */
  #lent(queued: number, replicas: number, totalSlots: number): number {
    if (replicas === 0) return 0
    return slotsToLend(queued, replicas, Math.floor(totalSlots / replicas), this.#options.slotsWhenQueued ?? 0)
  }

  pace(now = performance.now()): DispatchPace {
    const measured = this.#drainRate.pace(now)
    return { measured, perSecond: measured ?? this.#drainRate.perSecond(now) }
  }

  /** Accepts a job into the queue, or says why it does not fit. */
  submit(job: Job): QueueRoom {
    const room = this.#deps.queue.push(job)
    if (room !== 'ok') return room
    const now = performance.now()
    this.#deps.retryBudget.recordRequest(now)
    if (job.priority === 'normal') this.#lastNormalAt = now
    job.watch(this.#watchers, now)
    this.emit('queued', job)
    this.pump()
    return 'ok'
  }

  /** Dispatches as many queued jobs as the in-flight cap and free replica slots allow. */
  pump(): void {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#busy < this.maxInFlight && this.#deps.queue.size > 0) {
        if (!this.#dispatchOne()) break
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Fails every queued job (shutdown, no replica left), and returns how many there were. */
  failQueued(code: 'shutting_down' | 'no_replica', message: string): number {
    const jobs = this.#deps.queue.drain()
    for (const job of jobs) this.#finish(job, { kind: 'error', code, message, retryAfterSeconds: 1 })
    return jobs.length
  }

  /** Resolves once the queue is empty and nothing is in flight. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#drainedWaiters.push(resolve)
      this.#checkDrained()
    })
  }

  #checkDrained(): void {
    if (this.#deps.queue.size > 0 || this.#busy > 0) return
    for (const resolve of this.#drainedWaiters.splice(0)) resolve()
  }

  #dispatchOne(): boolean {
    const { queue, pool, policy, rejected } = this.#deps
    const job = queue.shift()
    if (!job) return false
    if (job.timeLeft() <= 0) {
      rejected.inc({ reason: 'deadline' })
      this.#finish(job, { kind: 'error', code: 'deadline_exceeded', message: 'the deadline passed while queued' })
      return true
    }
    // The head is low-priority only when no normal job waits; it waits on while taking a slot would eat the reserve.
    const reserve = this.#options.lowPriorityReservedSlots ?? 0
    const windowMs = this.#options.interactiveWindowMs ?? INTERACTIVE_WINDOW_MS
    const interactiveActive = performance.now() - this.#lastNormalAt < windowMs
    // Slots lent to every replica while the queue is deep (this job counted in it); 0 when lending is off, and then
    // the pool is not walked for it on every dispatch.
    const totalSlots = this.#lending || job.priority === 'low' ? pool.totalSlots() : 0
    const replicas = this.#lending ? pool.readyCount() : 0
    const lent = this.#lending ? this.#lent(queue.size + 1, replicas, totalSlots) : 0
    // Lent slots count as slots for the reserve too: batch work is what a backlog is made of.
    if (
      job.priority === 'low' &&
      !mayStartLowPriority(totalSlots + replicas * lent, this.#busy, reserve, interactiveActive)
    ) {
      queue.pushFront(job)
      return false
    }
    // Every replica is seen with its lent slots, so routing and "free" below agree on them.
    const candidates = pool.candidates(job.tried, job.model, lent)
    const choice = policy.pick(candidates, this.#routing)
    const replica = choice ? pool.get(choice.id) : undefined
    if (!choice || !replica) {
      if (pool.readyCount(job.model) === 0 || job.tried.size > 0) {
        // Nowhere (else) to go: no replica at all, or every replica was already tried for this job.
        rejected.inc({ reason: 'no_replica' })
        this.#finish(job, {
          kind: 'error',
          code: job.tried.size > 0 ? 'upstream_failed' : 'no_replica',
          message: job.tried.size > 0 ? 'every replica failed this request' : 'no replica is ready',
          retryAfterSeconds: 1,
        })
        return true
      }
      queue.pushFront(job)
      return false
    }
    if (policy.loadAware && this.#options.maxInFlight === 'auto') {
      // Late binding: the job waits here while its best replica is full, or while a faster one will be free soon.
      if (!choice.free || worthWaitingForFaster(choice, candidates, queue.size + 1)) {
        queue.pushFront(job)
        return false
      }
    } else if (replica.refusing(Date.now())) {
      // Sending at once (a fixed worker count, a load-oblivious policy) must not spin on a replica that just refused.
      queue.pushFront(job)
      return false
    }
    this.#start(job, replica)
    return true
  }

  #start(job: Job, replica: ReadonlyReplica): void {
    const { pool } = this.#deps
    this.#metrics.queueWaitSeconds.observe(job.startAttempt() / 1000)
    this.#seriesOf(replica).dispatched.inc()
    pool.beginAttempt(replica)
    this.#busy++
    // The client's own signal aborts the attempt when it leaves; a hung replica is cut off by the attempt's timeouts.
    void this.#deps
      .forward(job, replica, job.clientGone)
      .then(
        (result): AttemptReport => ({ ...this.#onAttemptEnd(job, replica, result), inflight: result.reportedInflight }),
      )
      .catch((error): AttemptReport => {
        this.#deps.log.error({ err: error, request_id: job.id }, 'dispatch failed')
        return { outcome: 'none' }
      })
      .then((report) => {
        this.#busy--
        // The pool records what the attempt said (its end and the replica's load), frees the slot and says 'change':
        // the next job is pumped then.
        pool.endAttempt(replica, report)
        this.#checkDrained()
      })
  }

  /** Settles or re-queues the job; returns how the attempt ended, for the pool. */
  #onAttemptEnd(job: Job, replica: ReadonlyReplica, result: AttemptResult): AttemptEnding {
    const { queue, retryBudget, log } = this.#deps
    switch (result.kind) {
      case 'answer': {
        this.#seriesOf(replica).upstreamSeconds.observe(result.upstreamMs / 1000)
        this.#drainRate.record(performance.now())
        this.emit('answered', result.upstreamMs)
        const { status, body, upstreamMs } = result
        this.#finish(job, { kind: 'answer', answer: { status, body, upstreamMs, replica: replica.url } })
        return { outcome: 'success', upstreamMs: result.upstreamMs }
      }
      case 'aborted':
        return { outcome: 'none' }
      case 'full':
        return this.#onReplicaFull(job, replica, result.reportedInflight, result.freeInMs)
      case 'failed': {
        log.warn({ request_id: job.id, replica: replica.url, reason: result.reason }, result.message)
        const code = result.reason === 'no_answer' ? 'deadline_exceeded' : 'upstream_failed'
        this.#finish(job, { kind: 'error', code, message: result.message })
        return { outcome: 'failure' }
      }
      case 'retryable': {
        job.tried.add(replica.url)
        const now = performance.now()
        if (!job.settled && job.timeLeft(now) > 0 && retryBudget.tryRetry(now)) {
          this.#metrics.retries.inc()
          log.info({ request_id: job.id, replica: replica.url, reason: result.reason }, 'retrying on another replica')
          job.requeue(now)
          queue.pushFront(job)
        } else {
          const queueFull = result.reason === 'queue_full'
          this.#finish(job, {
            kind: 'error',
            code: queueFull ? 'queue_full' : 'upstream_failed',
            message: queueFull ? "the replicas' queues are full" : `replica failed: ${result.message}`,
            retryAfterSeconds: result.retryAfter ?? 1,
          })
        }
        switch (result.reason) {
          case 'refused':
            return { outcome: 'refused' }
          case 'reset':
            return { outcome: 'failure' }
          case 'shutting_down':
            // It is draining: stop sending it work until a probe says it is ready again.
            return { outcome: 'shutting_down' }
          case 'queue_full':
            return { outcome: 'none' }
        }
      }
    }
  }

  /**
   * The replica was not free after all (other gateways' work): the job goes back to the head of its lane, where it
   * was, without spending the retry budget or marking the replica tried. The pool holds the replica full until it
   * answers again or the refusal expires, so a job every replica refused waits for a 'change' instead of spinning.
   */
  #onReplicaFull(
    job: Job,
    replica: ReadonlyReplica,
    inflight: number | undefined,
    freeInMs: number | undefined,
  ): AttemptEnding {
    this.#metrics.replicaFull.inc()
    this.#deps.log.debug({ request_id: job.id, replica: replica.url, inflight }, 'replica full: re-queued')
    if (!job.settled) {
      job.requeue()
      this.#deps.queue.pushFront(job)
    }
    return { outcome: 'full', freeInMs }
  }

  #onDeadline(job: Job): void {
    this.#deps.rejected.inc({ reason: 'deadline' })
    // Queued: it leaves the queue. In flight: the client is answered now; the attempt may still finish (and tell
    // the pool about the replica).
    const queued = this.#deps.queue.remove(job)
    this.#finish(job, {
      kind: 'error',
      code: 'deadline_exceeded',
      message: queued ? 'the deadline passed while queued' : 'the deadline passed before the replica answered',
    })
  }

  #onClientGone(job: Job): void {
    // An attempt in flight is aborted by the same signal (see #start); a queued job leaves the queue.
    if (this.#deps.queue.remove(job)) this.#deps.rejected.inc({ reason: 'client_closed' })
    this.#finish(job, { kind: 'error', code: 'client_closed', message: 'the client closed the connection' })
  }

  #onPoolChange(): void {
    // Runs after every attempt (a freed slot is a change): the queue's size is the cheap test, the pool walk second.
    if (this.#deps.queue.size > 0 && this.#deps.pool.readyCount() === 0 && !this.#deps.wakingUp?.()) {
      const failed = this.failQueued('no_replica', 'no replica is ready')
      this.#deps.rejected.inc({ reason: 'no_replica' }, failed)
    }
    this.pump()
  }

  #finish(job: Job, outcome: JobOutcome): void {
    job.settle(outcome)
    this.#checkDrained()
  }

  #seriesOf(replica: ReadonlyReplica): ReplicaSeries {
    let series = this.#series.get(replica)
    if (!series) {
      const metrics = this.#metrics
      series = {
        dispatched: metrics.dispatched.labels(replica.url),
        upstreamSeconds: metrics.upstreamSeconds.labels(replica.url),
      }
      this.#series.set(replica, series)
    }
    return series
  }
}
