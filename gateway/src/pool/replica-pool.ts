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
export class ReplicaPool extends EventEmitter {
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

  readyCount(): number {
    return this.routable().length
  }

  /** Sum of the slots of routable replicas: how many requests can be in flight at once. */
  totalSlots(): number {
    return this.routable().reduce((sum, r) => sum + r.slots, 0)
  }

  /** Routing input: routable replicas not already tried for this job. */
  candidates(now: number, exclude: ReadonlySet<string>): Candidate[] {
    const latencies = this.all.map((r) => r.latencyMs).filter((l): l is number => l !== undefined)
    // A replica with no history is assumed as fast as the median, not infinitely fast or slow.
    const median = latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)] ?? 50
    return this.routable()
      .filter((r) => !exclude.has(r.url))
      .map((r) => r.toCandidate(now, median))
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((r) => r.close()))
    this.#replicas.clear()
  }
}
