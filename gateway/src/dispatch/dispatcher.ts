import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { createRandom } from '../../../common/random.ts'
import type { GatewayMetrics } from '../metrics.ts'
import type { OutlierPolicy } from '../pool/outlier.ts'
import type { Replica } from '../pool/replica.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import type { Job } from '../queue/job.ts'
import type { Admission, JobQueue } from '../queue/job-queue.ts'
import type { RoutingPolicy, RoutingState } from '../routing/policies.ts'
import { worthWaitingForFaster } from '../routing/wait-for-faster.ts'
import { DrainRate } from './drain-rate.ts'
import type { AttemptResult, ForwardOptions } from './forward.ts'
import type { RetryBudget } from './retry-budget.ts'

export interface DispatcherOptions {
  /** Fixed number of workers, or 'auto': the total slots of the routable replicas. */
  workers: number | 'auto'
  outlier: OutlierPolicy
  forward: ForwardOptions
}

export interface DispatcherDeps {
  queue: JobQueue<Job>
  pool: ReplicaPool
  policy: RoutingPolicy
  retryBudget: RetryBudget
  metrics: GatewayMetrics
  log: FastifyBaseLogger
  forward: (job: Job, replica: Replica, signal: AbortSignal) => Promise<AttemptResult>
}

interface InFlight {
  job: Job
  replica: Replica
}

/**
 * The consumer side of the gateway: N workers take jobs off the bounded queue and forward them, each only when
 * a replica has a free slot ("late binding": all waiting happens here, and the replica is chosen at the last
 * moment by the routing policy). It drops jobs whose deadline passed (504, never sent), retries failed attempts
 * on another replica within the retry budget, and fails everything fast when no replica is left.
 * Emits 'queued' for every accepted job and 'answered' (upstream ms) for every answer from a replica.
 */
export interface DispatcherEvents {
  queued: [job: Job]
  answered: [upstreamMs: number]
}

export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly #deps: DispatcherDeps
  readonly #options: DispatcherOptions
  readonly #routing: RoutingState = { random: createRandom(Date.now() & 0xffffffff), cursor: 0 }
  readonly #inFlight = new Set<InFlight>()
  readonly #deadlineTimers = new Map<Job, NodeJS.Timeout>()
  readonly drainRate = new DrainRate()
  #pumping = false
  #drainedWaiters: (() => void)[] = []

  constructor(deps: DispatcherDeps, options: DispatcherOptions) {
    super()
    this.#deps = deps
    this.#options = options
    deps.pool.on('change', () => this.#onPoolChange())
  }

  /** Attempts in flight to replicas (busy workers). */
  get busy(): number {
    return this.#inFlight.size
  }

  /**
   * How many attempts may be in flight: the configured number, else the routable replicas' total slots. A
   * load-oblivious policy sends at once (replicas queue), so it is only bounded by the configured number.
   */
  get workers(): number {
    if (this.#options.workers !== 'auto') return this.#options.workers
    return this.#deps.policy.loadAware ? this.#deps.pool.totalSlots() : Number.POSITIVE_INFINITY
  }

  /** Accepts a job into the queue, or says why it does not fit. */
  submit(job: Job): Admission {
    const admission = this.#deps.queue.push(job)
    if (admission !== 'ok') return admission
    this.#deps.retryBudget.recordRequest(Date.now())
    this.#deadlineTimers.set(
      job,
      setTimeout(() => this.#onDeadline(job), Math.max(0, job.deadline - performance.now())),
    )
    job.clientGone.addEventListener('abort', () => this.#onClientGone(job), { once: true })
    this.emit('queued', job)
    this.pump()
    return 'ok'
  }

  /** Dispatches as many queued jobs as there are free workers and free replica slots. */
  pump(): void {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.busy < this.workers && this.#deps.queue.size > 0) {
        if (!this.#dispatchOne()) break
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Fails every queued job (shutdown), and returns how many there were. */
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
    if (this.#deps.queue.size > 0 || this.#inFlight.size > 0) return
    for (const resolve of this.#drainedWaiters.splice(0)) resolve()
  }

  #dispatchOne(): boolean {
    const { queue, pool, policy, metrics } = this.#deps
    const now = Date.now()
    const job = queue.shift()
    if (!job) return false
    if (job.deadline <= performance.now()) {
      metrics.rejected.inc({ reason: 'deadline' })
      this.#finish(job, { kind: 'error', code: 'deadline_exceeded', message: 'the deadline passed while queued' })
      return true
    }
    const candidates = pool.candidates(now, job.tried, job.model)
    const choice = policy.pick(candidates, this.#routing)
    const replica = choice ? pool.get(choice.id) : undefined
    if (!replica) {
      if (pool.readyCount(job.model) === 0 || job.tried.size > 0) {
        // Nowhere (else) to go: no replica at all, or every replica was already tried for this job.
        metrics.rejected.inc({ reason: 'no_replica' })
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
    if (policy.loadAware && this.#options.workers === 'auto') {
      const full = choice!.outstanding + choice!.externalLoad >= choice!.slots
      // Late binding: the job waits here while its best replica is full, or while a faster one will be free soon.
      if (full || worthWaitingForFaster(choice!, candidates, queue.size + 1)) {
        queue.pushFront(job)
        return false
      }
    }
    this.#start(job, replica)
    return true
  }

  #start(job: Job, replica: Replica): void {
    const { metrics } = this.#deps
    const waited = performance.now() - job.enqueuedAt
    job.queueMs += waited
    job.attempts++
    metrics.queueWaitSeconds.observe(waited / 1000)
    replica.series ??= {
      dispatched: metrics.dispatched.labels(replica.url),
      upstreamSeconds: metrics.upstreamSeconds.labels(replica.url),
    }
    replica.series.dispatched.inc()
    replica.outstanding++
    replica.dispatched++
    const entry: InFlight = { job, replica }
    this.#inFlight.add(entry)
    // The client's own signal aborts the attempt when it leaves; a hung replica is cut off by the attempt's timeouts.
    void this.#deps
      .forward(job, replica, job.clientGone)
      .then((result) => this.#onAttemptEnd(entry, result))
      .catch((error) => this.#deps.log.error({ err: error, request_id: job.id }, 'dispatch failed'))
      .finally(() => {
        this.#inFlight.delete(entry)
        replica.outstanding--
        this.#deps.pool.removeDrained()
        this.pump()
        this.#checkDrained()
      })
  }

  #onAttemptEnd(entry: InFlight, result: AttemptResult): void {
    const wasRoutable = entry.replica.isRoutable()
    const ejectionsBefore = entry.replica.outlier.ejections
    this.#handleResult(entry, result)
    if (entry.replica.outlier.ejections > ejectionsBefore) this.#deps.metrics.ejections.inc()
    if (entry.replica.isRoutable() !== wasRoutable) {
      this.#deps.log.info({ replica: entry.replica.url, routable: !wasRoutable }, 'replica routability changed')
      this.#deps.pool.emit('change')
    }
  }

  #handleResult(entry: InFlight, result: AttemptResult): void {
    const { job, replica } = entry
    const { metrics, queue, retryBudget, log } = this.#deps
    const now = Date.now()
    switch (result.kind) {
      case 'answer': {
        replica.recordAttempt('success', now, this.#options.outlier)
        replica.recordLatency(result.upstreamMs, now)
        replica.series?.upstreamSeconds.observe(result.upstreamMs / 1000)
        this.drainRate.record(performance.now())
        this.emit('answered', result.upstreamMs)
        this.#finish(job, { kind: 'answer', answer: { ...result, replica: replica.url } })
        return
      }
      case 'aborted':
        return
      case 'failed': {
        replica.recordAttempt('failure', now, this.#options.outlier)
        log.warn({ request_id: job.id, replica: replica.url, reason: result.reason }, result.message)
        const code = result.reason === 'no_answer' ? 'deadline_exceeded' : 'upstream_failed'
        this.#finish(job, { kind: 'error', code, message: result.message })
        return
      }
      case 'retryable': {
        if (result.reason === 'refused' || result.reason === 'reset') {
          replica.recordAttempt(result.reason === 'refused' ? 'refused' : 'failure', now, this.#options.outlier)
        } else if (result.reason === 'shutting_down') {
          // It is draining: stop sending it work until a probe says it is ready again.
          replica.markNotReady()
        }
        job.tried.add(replica.url)
        const timeLeft = job.deadline - performance.now()
        if (!job.settled && timeLeft > 0 && retryBudget.tryRetry(now)) {
          metrics.retries.inc()
          log.info({ request_id: job.id, replica: replica.url, reason: result.reason }, 'retrying on another replica')
          job.enqueuedAt = performance.now()
          queue.pushFront(job)
          return
        }
        const busy = result.reason === 'busy'
        this.#finish(job, {
          kind: 'error',
          code: busy ? 'queue_full' : 'upstream_failed',
          message: busy ? 'replicas are full' : `replica failed: ${result.message}`,
          retryAfterSeconds: result.retryAfter ?? 1,
        })
      }
    }
  }

  #onDeadline(job: Job): void {
    if (job.settled) return
    if (this.#deps.queue.remove(job)) {
      this.#deps.metrics.rejected.inc({ reason: 'deadline' })
      this.#finish(job, { kind: 'error', code: 'deadline_exceeded', message: 'the deadline passed while queued' })
      return
    }
    // In flight: answer the client now; the attempt may still finish (and tell us about the replica).
    this.#deps.metrics.rejected.inc({ reason: 'deadline' })
    this.#finish(job, {
      kind: 'error',
      code: 'deadline_exceeded',
      message: 'the deadline passed before the replica answered',
    })
  }

  #onClientGone(job: Job): void {
    if (job.settled) return
    if (this.#deps.queue.remove(job)) {
      this.#deps.metrics.rejected.inc({ reason: 'client_closed' })
      this.#finish(job, { kind: 'error', code: 'client_closed', message: 'the client closed the connection' })
      return
    }
    // An attempt in flight is aborted by the same signal (see #start).
    this.#finish(job, { kind: 'error', code: 'client_closed', message: 'the client closed the connection' })
  }

  #onPoolChange(): void {
    if (this.#deps.pool.readyCount() === 0 && this.#deps.queue.size > 0) {
      const failed = this.failQueued('no_replica', 'no replica is ready')
      this.#deps.metrics.rejected.inc({ reason: 'no_replica' }, failed)
    }
    this.pump()
  }

  #finish(job: Job, outcome: Parameters<Job['settle']>[0]): void {
    clearTimeout(this.#deadlineTimers.get(job))
    this.#deadlineTimers.delete(job)
    job.settle(outcome)
    this.#checkDrained()
  }
}
