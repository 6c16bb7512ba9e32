import { EventEmitter } from 'node:events'
import { parseModelSelector } from '../../../common/http/model-selection.ts'
import { type TimerAt, timerAt } from '../../../common/timer-at.ts'
import type { Candidate } from '../balancing/candidate.ts'
import type { AttemptOutcome, OutlierPolicy } from './outlier.ts'
import type { ProbeResult, ReadinessThresholds } from './readiness.ts'
import { type ModelVersionRef, type ReadonlyReplica, Replica } from './replica.ts'
import type { ReplicaView } from './replica-view.ts'
import type { ReportedLoad } from './reported-load.ts'

export interface ReplicaPoolOptions {
  slotsPerReplica: number
  /** Connections per replica: its slots, or more when the dispatcher lends slots under a queue. */
  connectionsPerReplica?: number
  connectTimeoutMs: number
  /** When repeated failures eject a replica (passive health). */
  outlier: OutlierPolicy
  /** How many probes in a row change a replica's readiness (active health). */
  readiness: ReadinessThresholds
}

/** Why a replica's routability changed. */
export type RoutabilityCause = 'probe' | 'attempt' | 'shutting_down'

/** What the pool emits, and with what (typed: a listener gets exactly these arguments). */
export interface ReplicaPoolEvents {
  added: [replica: ReadonlyReplica]
  removed: [replica: ReadonlyReplica]
  /** A replica became routable or stopped being so. */
  routability: [replica: ReadonlyReplica, routable: boolean, cause: RoutabilityCause]
  /** Outlier detection ejected a replica (whether or not it was routable at that moment). */
  ejected: [replica: ReadonlyReplica]
  /** Routing could decide differently now (membership, routability, a freed slot): time to look again. */
  change: []
}

/**
 * What one attempt taught us about its replica: how it ended, and what the replica said of its own load on the way
 * (`inflight`, its X-Replica-Inflight, counting our request), so the pool records both at once.
 */
export type AttemptReport = AttemptEnding & {
  /** The replica's own count of requests it holds, from every gateway, when its answer said. */
  inflight?: number
}

/** How an attempt at a replica ended, as far as the replica's state is concerned. */
export type AttemptEnding =
  | { outcome: 'success'; upstreamMs: number }
  | { outcome: Exclude<AttemptOutcome, 'success'> }
  /** It answered that it is shutting down. */
  | { outcome: 'shutting_down' }
  /** It refused the request as full (503 replica_full), with when a place frees if it said. */
  | { outcome: 'full'; freeInMs?: number }
  /** Nothing to learn about the replica beyond its load (its queue was full, or the client left). */
  | { outcome: 'none' }

/**
 * The set of replicas discovery knows about, and the one owner of their state: discovery, health checks and the
 * dispatcher report what they saw through its methods, and the pool alone emits what changed. New replicas start
 * not ready (they join after a readiness probe); ones discovery drops drain: no new work, removed once their last
 * request finishes. Times are epoch ms (`Date.now()`), read here.
 */
export class ReplicaPool extends EventEmitter<ReplicaPoolEvents> {
  readonly #replicas = new Map<string, Replica>()
  readonly #options: ReplicaPoolOptions
  /** Per replica: says 'change' when a report that made it not free expires (nothing else would). */
  readonly #expiryTimers = new Map<Replica, TimerAt>()

  constructor(options: ReplicaPoolOptions) {
    super()
    this.#options = options
  }

  get all(): ReadonlyReplica[] {
    return [...this.#replicas.values()]
  }

  get(url: string): ReadonlyReplica | undefined {
    return this.#replicas.get(url)
  }

  /** Every replica as people see it (`GET /replicas`, `GET /live`). */
  snapshot(): ReplicaView[] {
    const now = Date.now()
    return this.all.map((replica) => replica.snapshot(now))
  }

  /** Discovery's current list: adds new URLs, drains the ones no longer listed. */
  setTargets(urls: readonly string[]): void {
    const wanted = new Set(urls)
    for (const url of wanted) {
      const existing = this.#replicas.get(url)
      if (existing) {
        existing.setDraining(false)
        continue
      }
      const { slotsPerReplica, connectTimeoutMs, connectionsPerReplica } = this.#options
      const replica = new Replica(url, slotsPerReplica, connectTimeoutMs, connectionsPerReplica)
      this.#replicas.set(url, replica)
      this.emit('added', replica)
    }
    for (const replica of this.#replicas.values()) {
      if (!wanted.has(replica.url)) replica.setDraining(true)
    }
    this.#removeDrained()
    this.emit('change')
  }

  /** Resolves once the replica at `url` has left the pool (it drains first if discovery dropped it). */
  whenDrained(url: string): Promise<void> {
    const replica = this.#replicas.get(url)
    if (!replica) return Promise.resolve()
    return new Promise((resolve) => {
      const onRemoved = (removed: ReadonlyReplica) => {
        if (removed !== replica) return
        this.off('removed', onRemoved)
        resolve()
      }
      this.on('removed', onRemoved)
      this.#removeDrained()
    })
  }

  /** An attempt is sent to `replica`: it holds one more of its slots. */
  beginAttempt(replica: ReadonlyReplica): void {
    this.#own(replica)?.beginAttempt()
  }

  /**
   * The attempt ended: the slot is free again, and what it said about the replica is recorded — its load report (a
   * refusal's, or an answer's X-Replica-Inflight) and its outcome. Announces a routability change, removes a drained
   * replica, and says 'change' (a slot is free).
   */
  endAttempt(replica: ReadonlyReplica, report: AttemptReport): void {
    const own = this.#own(replica)
    if (!own) return
    const now = Date.now()
    // A refusal's count is recorded as a refusal, below; any other answer's replaces what the replica said before.
    if (report.inflight !== undefined && report.outcome !== 'full') {
      this.#changeAtExpiry(own, own.recordLoadReport(report.inflight, now))
    }
    own.endAttempt()
    const wasRoutable = own.isRoutable()
    const ejectionsBefore = own.outlier.ejections
    switch (report.outcome) {
      case 'success':
        own.recordOutcome('success', now, this.#options.outlier)
        own.recordLatency(report.upstreamMs, now)
        break
      case 'failure':
      case 'refused':
        own.recordOutcome(report.outcome, now, this.#options.outlier)
        break
      case 'shutting_down':
        own.markNotReady()
        break
      case 'full':
        // Not a failure: it is busy with other gateways' work. Not free until it answers us again or this expires.
        this.#changeAtExpiry(own, own.recordRefusal(report.inflight, report.freeInMs, now))
        break
      case 'none':
        break
    }
    if (own.outlier.ejections > ejectionsBefore) this.emit('ejected', own)
    this.#announce(own, wasRoutable, report.outcome === 'shutting_down' ? 'shutting_down' : 'attempt')
    this.#removeDrained()
    this.emit('change')
  }

  /** A readiness probe's result, and the models the replica listed if it did. */
  recordProbe(replica: ReadonlyReplica, result: ProbeResult, models?: readonly ModelVersionRef[]): void {
    const own = this.#own(replica)
    if (!own) return
    const wasRoutable = own.isRoutable()
    own.recordProbe(result, models, this.#options.readiness, Date.now())
    if (this.#announce(own, wasRoutable, 'probe')) this.emit('change')
  }

  // readyCount, totalSlots and candidates run for every request: they walk the map without building arrays.

  /** Routable replicas, or only those serving `model` when given. */
  readyCount(model?: string): number {
    let count = 0
    for (const replica of this.#replicas.values()) if (replica.isRoutable() && replica.serves(model)) count++
    return count
  }

  /** Every model some replica advertises, ready or not, in first-seen order. */
  models(): string[] {
    return [...new Set(this.all.flatMap((replica) => replica.models))]
  }

  /** For each model, each version some replica advertises: how many replicas advertise it and how many are routable. */
  servedVersions(): Map<string, Map<string, { replicas: number; ready: number }>> {
    const served = new Map<string, Map<string, { replicas: number; ready: number }>>()
    for (const replica of this.#replicas.values()) {
      const routable = replica.isRoutable()
      for (const key of replica.versions) {
        const { name, version = '' } = parseModelSelector(key)
        let versions = served.get(name)
        if (!versions) {
          versions = new Map()
          served.set(name, versions)
        }
        const counts = versions.get(version) ?? { replicas: 0, ready: 0 }
        versions.set(version, { replicas: counts.replicas + 1, ready: counts.ready + (routable ? 1 : 0) })
      }
    }
    return served
  }

  /** Sum of the slots of routable replicas: how many requests can be in flight at once. */
  totalSlots(): number {
    let slots = 0
    for (const replica of this.#replicas.values()) if (replica.isRoutable()) slots += replica.slots
    return slots
  }

  /**
   * Routing and admission input: routable replicas serving `model`, not already tried for this job, each seen with
   * `lent` slots on top of its own (see slotsToLend).
   */
  candidates(exclude: ReadonlySet<string>, model?: string, lent = 0): Candidate[] {
    const now = Date.now()
    const candidates: Candidate[] = []
    let unmeasured = false
    for (const replica of this.#replicas.values()) {
      if (!replica.isRoutable() || exclude.has(replica.url) || !replica.serves(model)) continue
      unmeasured ||= replica.latencyMs === undefined
      candidates.push(replica.toCandidate(now, lent, 0))
    }
    if (unmeasured) {
      // A replica with no history is assumed as fast as the median, not infinitely fast or slow.
      const known = this.all.flatMap((r) => (r.latencyMs === undefined ? [] : [r.latencyMs])).sort((a, b) => a - b)
      const median = known[Math.floor(known.length / 2)] ?? 50
      for (const candidate of candidates) if (candidate.latencyMs === 0) candidate.latencyMs = median
    }
    return candidates
  }

  async close(): Promise<void> {
    for (const expiry of this.#expiryTimers.values()) expiry.cancel()
    this.#expiryTimers.clear()
    await Promise.all([...this.#replicas.values()].map((r) => r.close()))
    this.#replicas.clear()
  }

  /** Our own Replica behind a handle, or undefined if it already left (a late report about it). */
  #own(replica: ReadonlyReplica): Replica | undefined {
    const own = this.#replicas.get(replica.url)
    return own === replica ? own : undefined
  }

  /** Emits 'routability' if it changed; says whether it did. */
  #announce(replica: Replica, wasRoutable: boolean, cause: RoutabilityCause): boolean {
    const routable = replica.isRoutable()
    if (routable === wasRoutable) return false
    this.emit('routability', replica, routable, cause)
    return true
  }

  /**
   * A report that adds load can hold jobs back: a full replica is skipped, and late binding may wait for a faster
   * replica whose reported load says it will free soon. When the report expires nothing else may happen (no answer
   * is due from it, e.g. the last job after a burst), so say 'change' then: a job waiting on it is looked at again,
   * never stranded until its deadline, nor re-sent in a spin. A report of nothing holds nothing back.
   */
  #changeAtExpiry(replica: Replica, report: ReportedLoad): void {
    if (!report.refused && report.floor === 0) return
    this.#expiryTimers.get(replica)?.cancel()
    // The report counts while Date.now() < until: timerAt waits for that clock, not the loop's (see there), so the
    // 'change' it says is a real one and a waiting job is never left with nothing to wake it.
    const expiry = timerAt(
      report.until,
      Date.now,
      () => {
        this.#expiryTimers.delete(replica)
        this.emit('change')
      },
      { unref: true },
    )
    this.#expiryTimers.set(replica, expiry)
  }

  #removeDrained(): void {
    for (const replica of this.#replicas.values()) {
      if (replica.draining && replica.outstanding === 0) {
        this.#replicas.delete(replica.url)
        this.#expiryTimers.get(replica)?.cancel()
        this.#expiryTimers.delete(replica)
        void replica.close()
        this.emit('removed', replica)
      }
    }
  }
}
