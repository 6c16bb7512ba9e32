import type { FastifyBaseLogger } from 'fastify'
import { request } from 'undici'
import { readmit } from './outlier.ts'
import type { Replica } from './replica.ts'
import type { ReplicaPool } from './replica-pool.ts'

export interface HealthCheckOptions {
  intervalMs: number
  timeoutMs: number
}

/**
 * Active health checking: every replica's `/readyz` is probed each interval. A 200 makes it ready (and re-admits it
 * if its ejection has expired); anything else, or no answer within the timeout, makes it not ready. Probes run
 * on their own connection, so a replica busy with predictions is not declared dead for it.
 */
export class HealthChecker {
  readonly #pool: ReplicaPool
  readonly #options: HealthCheckOptions
  readonly #log: FastifyBaseLogger
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(pool: ReplicaPool, options: HealthCheckOptions, log: FastifyBaseLogger) {
    this.#pool = pool
    this.#options = options
    this.#log = log
  }

  start(): void {
    const tick = () => {
      this.#running = this.probeAll().finally(() => {
        this.#running = undefined
        this.#timer = setTimeout(tick, this.#options.intervalMs)
      })
    }
    tick()
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
    clearTimeout(this.#timer)
  }

  /** Probes every replica once; resolves when all have answered or timed out. */
  async probeAll(): Promise<void> {
    await Promise.all(this.#pool.all.map((replica) => this.probe(replica)))
    this.#pool.removeDrained()
  }

  async probe(replica: Replica): Promise<void> {
    const ok = await this.#isReady(replica)
    const now = Date.now()
    const wasRoutable = replica.isRoutable()
    replica.ready = ok
    if (ok) replica.outlier = readmit(replica.outlier, now)
    const isRoutable = replica.isRoutable()
    if (wasRoutable !== isRoutable) {
      this.#log.info({ replica: replica.url, routable: isRoutable, ready: ok }, 'replica routability changed')
      this.#pool.emit('change')
    }
  }

  async #isReady(replica: Replica): Promise<boolean> {
    try {
      const response = await request(`${replica.url}/readyz`, {
        dispatcher: replica.probeClient,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
      })
      await response.body.dump()
      return response.statusCode === 200
    } catch {
      return false
    }
  }
}
