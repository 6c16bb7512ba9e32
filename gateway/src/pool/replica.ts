import { Client, Pool } from 'undici'
import type { Candidate } from '../routing/policies.ts'
import {
  type AttemptOutcome,
  HEALTHY,
  isEjected,
  type OutlierPolicy,
  type OutlierState,
  recordOutcome,
} from './outlier.ts'
import { updatePeakEwma } from './peak-ewma.ts'
import {
  afterProbe,
  NOT_YET_READY,
  type ProbeResult,
  type ReadinessState,
  type ReadinessThresholds,
} from './readiness.ts'

/** A replica's own report of its load, from the X-Replica-* headers of its last answer. */
interface LoadReport {
  inflight: number
  /** Our outstanding count when the report was made, to tell our load from other gateways'. */
  ours: number
  at: number
}

const REPORT_FRESH_MS = 1000
const LATENCY_TAU_MS = 10_000

/** One upstream replica as the gateway sees it: connection pool, readiness, load, latency, outlier state. */
export class Replica {
  readonly url: string
  readonly pool: Pool
  /** A connection of its own for readiness probes, so probes never queue behind predictions. */
  readonly probeClient: Client
  slots: number
  /** What the readiness probes have said, with their streaks (see `afterProbe`). */
  readiness: ReadinessState = NOT_YET_READY
  /** Leaving: discovery no longer lists it, or it said it is shutting down. Gets no new work. */
  draining = false
  outstanding = 0
  latencyMs: number | undefined
  #latencyAt = 0
  outlier: OutlierState = HEALTHY
  dispatched = 0
  failures = 0
  /** Models the replica serves, from its /readyz, the default first; empty until it has said. */
  models: readonly string[] = []
  /** Per-replica metric series, bound once (labelled lookups cost a hash per call). */
  series: { dispatched: { inc(): void }; upstreamSeconds: { observe(value: number): void } } | undefined
  #report: LoadReport | undefined

  constructor(url: string, slots: number, connectTimeoutMs: number) {
    this.url = url
    this.slots = slots
    // One connection per slot: a request never waits behind another on the same socket.
    this.pool = new Pool(url, { connections: slots, connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 30_000 })
    this.probeClient = new Client(url, { connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 30_000 })
  }

  /** A request naming no model goes to any replica (each has a default); one naming a model, to those serving it. */
  serves(model: string | undefined): boolean {
    return model === undefined || this.models.includes(model)
  }

  /** The probes say it is ready. */
  get ready(): boolean {
    return this.readiness.ready
  }

  recordProbe(result: ProbeResult, thresholds: ReadinessThresholds): void {
    this.readiness = afterProbe(this.readiness, result, thresholds)
  }

  /** It said so itself (e.g. shutting down): out until probes say it is ready again. */
  markNotReady(): void {
    this.readiness = NOT_YET_READY
  }

  /** Routable: ready, not leaving, not ejected. */
  isRoutable(): boolean {
    return this.ready && !this.draining && !isEjected(this.outlier)
  }

  recordAttempt(outcome: AttemptOutcome, now: number, policy: OutlierPolicy): void {
    this.outlier = recordOutcome(this.outlier, outcome, now, policy)
    if (outcome !== 'success') this.failures++
  }

  recordLatency(ms: number, now: number): void {
    this.latencyMs = updatePeakEwma(this.latencyMs, ms, now - this.#latencyAt, LATENCY_TAU_MS)
    this.#latencyAt = now
  }

  recordLoadReport(inflight: number, now: number): void {
    // The answer being reported is still counted in our outstanding at this point.
    this.#report = { inflight, ours: this.outstanding, at: now }
  }

  /** Load the replica reported beyond our own requests (other gateways), while the report is fresh. */
  externalLoad(now: number): number {
    const report = this.#report
    if (!report || now - report.at > REPORT_FRESH_MS) return 0
    return Math.max(0, report.inflight - report.ours)
  }

  toCandidate(now: number, defaultLatencyMs: number): Candidate {
    return {
      id: this.url,
      outstanding: this.outstanding,
      slots: this.slots,
      latencyMs: this.latencyMs ?? defaultLatencyMs,
      externalLoad: this.externalLoad(now),
    }
  }

  async close(): Promise<void> {
    await Promise.all([
      this.pool.close().catch(() => this.pool.destroy()),
      this.probeClient.close().catch(() => this.probeClient.destroy()),
    ])
  }
}
