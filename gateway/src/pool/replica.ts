import { Client, Pool } from 'undici'
import { modelVersionKey } from '../../../common/http/model-selection.ts'
import { type Candidate, candidate } from '../balancing/candidate.ts'
import {
  type AttemptOutcome,
  HEALTHY,
  isEjected,
  type OutlierPolicy,
  type OutlierState,
  readmit,
  recordOutcome,
} from './outlier.ts'
import { LATENCY_TAU_MS, updatePeakEwma } from './peak-ewma.ts'
import {
  afterProbe,
  NOT_YET_READY,
  type ProbeResult,
  type ReadinessState,
  type ReadinessThresholds,
} from './readiness.ts'
import type { ReplicaView } from './replica-view.ts'
import { isCurrent, loadSeen, type ReportedLoad, reportFromAnswer, reportFromRefusal } from './reported-load.ts'

/** What the pool's mutators change: the pool alone calls them (see `ReadonlyReplica`). */
type PoolOnly =
  | 'setDraining'
  | 'beginAttempt'
  | 'endAttempt'
  | 'recordProbe'
  | 'markNotReady'
  | 'recordOutcome'
  | 'recordLatency'
  | 'recordLoadReport'
  | 'recordRefusal'
  | 'close'

/** A replica as everyone but its pool holds it: everything to read, nothing to change. */
export type ReadonlyReplica = Omit<Replica, PoolOnly>

/** A model version a replica says it serves (its /readyz). */
export interface ModelVersionRef {
  name: string
  version: string
}

/**
 * One upstream replica as the gateway sees it: its connections, readiness, load, latency, outlier state. Only its
 * `ReplicaPool` changes it (the pool hands out `ReadonlyReplica`s), so every change that could make routing decide
 * differently is made, and announced, in one place. Times are epoch ms (`Date.now()`).
 */
export class Replica {
  readonly url: string
  /** undici's pool of connections for predictions (one per slot, lent ones too). */
  readonly connections: Pool
  /** A connection of its own for readiness probes, so probes never queue behind predictions. */
  readonly probeClient: Client
  readonly slots: number
  #readiness: ReadinessState = NOT_YET_READY
  #draining = false
  #outstanding = 0
  #latencyMs: number | undefined
  #latencyAt = 0
  #outlier: OutlierState = HEALTHY
  #dispatched = 0
  #failures = 0
  #models: readonly string[] = []
  #versions: readonly string[] = []
  #report: ReportedLoad | undefined

  constructor(url: string, slots: number, connectTimeoutMs: number, connectionCount = slots) {
    this.url = url
    this.slots = slots
    // One connection per slot (lent ones too): a request never waits behind another on the same socket.
    this.connections = new Pool(url, {
      connections: Math.max(slots, connectionCount),
      connect: { timeout: connectTimeoutMs },
      keepAliveTimeout: 30_000,
    })
    this.probeClient = new Client(url, { connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 30_000 })
  }

  /** The probes say it is ready. */
  get ready(): boolean {
    return this.#readiness.ready
  }

  /** What the readiness probes have said, with their streaks (see `afterProbe`). */
  get readiness(): ReadinessState {
    return this.#readiness
  }

  /** Leaving: discovery no longer lists it, or it said it is shutting down. Gets no new work. */
  get draining(): boolean {
    return this.#draining
  }

  /** Requests this gateway has in flight to it. */
  get outstanding(): number {
    return this.#outstanding
  }

  /** Peak-EWMA of its upstream latency, ms; undefined until it has answered. */
  get latencyMs(): number | undefined {
    return this.#latencyMs
  }

  get outlier(): OutlierState {
    return this.#outlier
  }

  /** Models the replica serves, from its /readyz, the default first; empty until it has said. */
  get models(): readonly string[] {
    return this.#models
  }

  /** Versions it serves as `NAME@VERSION` keys, from its /readyz. */
  get versions(): readonly string[] {
    return this.#versions
  }

  /**
   * A request naming no model goes to any replica (each has a default); one naming a model, to those serving it;
   * one naming `NAME@VERSION`, only to those serving that version.
   */
  serves(model: string | undefined): boolean {
    if (model === undefined) return true
    return model.includes('@') ? this.#versions.includes(model) : this.#models.includes(model)
  }

  /** Routable: ready, not leaving, not ejected. */
  isRoutable(): boolean {
    return this.#readiness.ready && !this.#draining && !isEjected(this.#outlier)
  }

  /** Its whole load as routing sees it: our requests in flight, or what it reported if that is more (`loadSeen`). */
  load(now: number): number {
    return loadSeen(this.#outstanding, this.slots, this.#report, now)
  }

  /** It refused a request as full, and the refusal still counts: wait for a 'change' rather than send again. */
  refusing(now: number): boolean {
    return this.#report?.refused === true && isCurrent(this.#report, now)
  }

  /** As routing and admission see it, with `lent` slots on top of its own (see slotsToLend). */
  toCandidate(now: number, lent: number, defaultLatencyMs: number): Candidate {
    return candidate(this.url, this.load(now), this.slots + lent, this.#latencyMs ?? defaultLatencyMs)
  }

  /** The view people get (`GET /replicas`, `GET /live`). */
  snapshot(now: number): ReplicaView {
    const { consecutiveFailures, ejections, ejectedUntil } = this.#outlier
    return {
      url: this.url,
      ready: this.ready,
      routable: this.isRoutable(),
      ejected: isEjected(this.#outlier),
      draining: this.#draining,
      outstanding: this.#outstanding,
      reported_inflight: isCurrent(this.#report, now) ? this.#report.floor : null,
      refusing: this.refusing(now),
      slots: this.slots,
      ewma_latency_ms: this.#latencyMs === undefined ? null : Math.round(this.#latencyMs * 10) / 10,
      dispatched: this.#dispatched,
      failures: this.#failures,
      consecutive_failures: consecutiveFailures,
      ejections,
      ejected_until: ejectedUntil > now ? new Date(ejectedUntil).toISOString() : null,
      models: [...this.#models],
      versions: [...this.#versions],
    }
  }

  // The pool's mutators (PoolOnly): it calls them and announces what they change.

  setDraining(draining: boolean): void {
    this.#draining = draining
  }

  beginAttempt(): void {
    this.#outstanding++
    this.#dispatched++
  }

  endAttempt(): void {
    this.#outstanding--
  }

  recordProbe(
    result: ProbeResult,
    models: readonly ModelVersionRef[] | undefined,
    thresholds: ReadinessThresholds,
    now: number,
  ) {
    if (models) {
      this.#models = [...new Set(models.map((m) => m.name))]
      this.#versions = models.map((m) => modelVersionKey(m.name, m.version))
    }
    this.#readiness = afterProbe(this.#readiness, result, thresholds)
    if (result === 'ready') this.#outlier = readmit(this.#outlier, now)
  }

  /** It said so itself (e.g. shutting down): out until probes say it is ready again. */
  markNotReady(): void {
    this.#readiness = NOT_YET_READY
  }

  recordOutcome(outcome: AttemptOutcome, now: number, policy: OutlierPolicy): void {
    this.#outlier = recordOutcome(this.#outlier, outcome, now, policy)
    if (outcome !== 'success') this.#failures++
  }

  recordLatency(ms: number, now: number): void {
    this.#latencyMs = updatePeakEwma(this.#latencyMs, ms, now - this.#latencyAt, LATENCY_TAU_MS)
    this.#latencyAt = now
  }

  /** Its answer's X-Replica-Inflight: replaces what it said before. Returns the report. */
  recordLoadReport(inflight: number, now: number): ReportedLoad {
    this.#report = reportFromAnswer(inflight, this.slots, this.#latencyMs, now)
    return this.#report
  }

  /** It answered 503 replica_full (with its X-Replica-Inflight and -Free-In-Ms when it said): full until the report expires. */
  recordRefusal(inflight: number | undefined, freeInMs: number | undefined, now: number): ReportedLoad {
    this.#report = reportFromRefusal(inflight, this.slots, this.#latencyMs, now, freeInMs)
    return this.#report
  }

  async close(): Promise<void> {
    await Promise.all([
      this.connections.close().catch(() => this.connections.destroy()),
      this.probeClient.close().catch(() => this.probeClient.destroy()),
    ])
  }
}
