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
    const { ok, models } = await this.#isReady(replica)
    if (models) replica.models = models
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

  /** Ready or not, and the models the replica says it serves (the default first) when it says so. */
  async #isReady(replica: Replica): Promise<{ ok: boolean; models?: string[] }> {
    try {
      const response = await request(`${replica.url}/readyz`, {
        dispatcher: replica.probeClient,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
      })
      const body = (await response.body.json().catch(() => undefined)) as { models?: unknown } | undefined
      const models = Array.isArray(body?.models)
        ? body.models.flatMap((m: { name?: unknown }) => (typeof m?.name === 'string' ? [m.name] : []))
        : undefined
      return { ok: response.statusCode === 200, ...(models && { models }) }
    } catch {
      return { ok: false }
    }
  }
}
