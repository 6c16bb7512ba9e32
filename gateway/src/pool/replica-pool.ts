import { EventEmitter } from 'node:events'
import type { Candidate } from '../routing/policies.ts'
import { Replica } from './replica.ts'

export interface ReplicaPoolOptions {
  slotsPerReplica: number
  connectTimeoutMs: number
}

/**
 * The set of replicas discovery knows about. New ones start not ready (they join after a readiness probe); ones
 * discovery drops drain: no new work, removed once their last request finishes. Emits 'change' whenever routing
 * could decide differently (readiness, membership, a freed slot), so the dispatcher knows when to look again.
 */
/** What the pool emits, and with what (typed: a listener gets exactly these arguments). */
export interface ReplicaPoolEvents {
  added: [replica: Replica]
  removed: [replica: Replica]
  change: []
}

export class ReplicaPool extends EventEmitter<ReplicaPoolEvents> {
  readonly #replicas = new Map<string, Replica>()
  readonly #options: ReplicaPoolOptions

  constructor(options: ReplicaPoolOptions) {
    super()
    this.#options = options
  }

  get all(): Replica[] {
    return [...this.#replicas.values()]
  }

  get(url: string): Replica | undefined {
    return this.#replicas.get(url)
  }

  /** Discovery's current list: adds new URLs, drains the ones no longer listed. Times are epoch ms throughout. */
  setTargets(urls: readonly string[]): void {
    const wanted = new Set(urls)
    for (const url of wanted) {
      const existing = this.#replicas.get(url)
      if (existing) {
        existing.draining = false
        continue
      }
      const replica = new Replica(url, this.#options.slotsPerReplica, this.#options.connectTimeoutMs)
      this.#replicas.set(url, replica)
      this.emit('added', replica)
    }
    for (const replica of this.#replicas.values()) {
      if (!wanted.has(replica.url)) replica.draining = true
    }
    this.removeDrained()
    this.emit('change')
  }

  /** Resolves once the replica at `url` has left the pool (it drains first if discovery dropped it). */
  whenDrained(url: string): Promise<void> {
    const replica = this.#replicas.get(url)
    if (!replica) return Promise.resolve()
    return new Promise((resolve) => {
      const onRemoved = (removed: Replica) => {
        if (removed !== replica) return
        this.off('removed', onRemoved)
        resolve()
      }
      this.on('removed', onRemoved)
      this.removeDrained()
    })
  }

  /** Removes draining replicas that have nothing in flight. */
  removeDrained(): void {
    for (const replica of this.#replicas.values()) {
      if (replica.draining && replica.outstanding === 0) {
        this.#replicas.delete(replica.url)
        void replica.close()
        this.emit('removed', replica)
      }
    }
  }

  routable(): Replica[] {
    return this.all.filter((r) => r.isRoutable())
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

  /** Sum of the slots of routable replicas: how many requests can be in flight at once. */
  totalSlots(): number {
    let slots = 0
    for (const replica of this.#replicas.values()) if (replica.isRoutable()) slots += replica.slots
    return slots
  }

  /** Routing input: routable replicas serving `model`, not already tried for this job. */
  candidates(now: number, exclude: ReadonlySet<string>, model?: string): Candidate[] {
    const candidates: Candidate[] = []
    let unmeasured = false
    for (const replica of this.#replicas.values()) {
      if (!replica.isRoutable() || exclude.has(replica.url) || !replica.serves(model)) continue
      unmeasured ||= replica.latencyMs === undefined
      candidates.push(replica.toCandidate(now, 0))
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
    await Promise.all(this.all.map((r) => r.close()))
    this.#replicas.clear()
  }
}
