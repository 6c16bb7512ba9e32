import type { FastifyBaseLogger } from 'fastify'
import { request } from 'undici'
import type { ReplicaReadiness } from '../../../common/readiness-schema.ts'
import { probeDeadline } from './probe-deadline.ts'
import { dueForBootProbe, type ProbeSchedule } from './probe-schedule.ts'
import type { ProbeResult } from './readiness.ts'
import type { ModelVersionRef, ReadonlyReplica } from './replica.ts'
import type { ReplicaPool } from './replica-pool.ts'

export interface HealthCheckOptions extends Partial<Pick<ProbeSchedule, 'bootIntervalMs' | 'bootWindowMs'>> {
  intervalMs: number
  timeoutMs: number
}

/**
 * Active health checking: every replica's `/readyz` is probed each interval, on a fixed schedule (a slow probe
 * does not delay the next round of the others). Readiness changes on streaks, as Kubernetes probes do
 * (`afterProbe`): `successThreshold` answers in a row make a replica ready; `failureThreshold` probes in a row
 * without an answer make it not ready, so a replica that stops answering is out within
 * failureThreshold × interval + timeout; a replica that answers "not ready", or that nothing listens on, is out at
 * once. Probes run on their own connection, so a replica busy with predictions is not declared dead for it.
 * Replicas not ready yet are also probed on a faster schedule (see probe-schedule.ts), so one that finishes
 * booting takes traffic at once.
 */
export class HealthChecker {
  readonly #pool: ReplicaPool
  readonly #options: HealthCheckOptions
  readonly #log: FastifyBaseLogger
  #timer: NodeJS.Timeout | undefined
  #bootTimer: NodeJS.Timeout | undefined
  readonly #schedule: ProbeSchedule
  /** Per replica: when its last probe started, and since when it has not been ready. */
  readonly #lastProbe = new WeakMap<ReadonlyReplica, number>()
  readonly #notReadySince = new WeakMap<ReadonlyReplica, number>()
  /** Probes in flight, one per replica at most: a replica is probed again only once its last probe has ended. */
  readonly #probing = new Map<ReadonlyReplica, Promise<void>>()

  constructor(pool: ReplicaPool, options: HealthCheckOptions, log: FastifyBaseLogger) {
    this.#pool = pool
    this.#options = options
    this.#log = log
    this.#schedule = {
      intervalMs: options.intervalMs,
      bootIntervalMs: options.bootIntervalMs ?? 0,
      bootWindowMs: options.bootWindowMs ?? 120_000,
    }
  }

  start(): void {
    const tick = () => {
      for (const replica of this.#pool.all) void this.probe(replica)
    }
    tick()
    this.#timer = setInterval(tick, this.#options.intervalMs)
    const { bootIntervalMs, intervalMs } = this.#schedule
    if (bootIntervalMs > 0 && bootIntervalMs < intervalMs) {
      this.#bootTimer = setInterval(() => {
        const now = performance.now()
        for (const replica of this.#pool.all) {
          if (
            dueForBootProbe(
              {
                ready: replica.ready,
                notReadySinceMs: this.#notReadySince.get(replica),
                lastProbeMs: this.#lastProbe.get(replica),
              },
              now,
              this.#schedule,
            )
          )
            void this.probe(replica)
        }
      }, bootIntervalMs)
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    clearInterval(this.#bootTimer)
    this.#timer = undefined
    this.#bootTimer = undefined
    await Promise.all(this.#probing.values())
  }

  /** Probes one replica now, unless a probe of it is still in flight (a new replica's and the schedule's may meet). */
  probe(replica: ReadonlyReplica): Promise<void> {
    const inFlight = this.#probing.get(replica)
    if (inFlight) return inFlight
    const probe = this.#probeOnce(replica).finally(() => this.#probing.delete(replica))
    this.#probing.set(replica, probe)
    return probe
  }

  async #probeOnce(replica: ReadonlyReplica): Promise<void> {
    const startedAt = performance.now()
    this.#lastProbe.set(replica, startedAt)
    if (!replica.ready && !this.#notReadySince.has(replica)) this.#notReadySince.set(replica, startedAt)
    const { result, models } = await this.#check(replica)
    this.#pool.recordProbe(replica, result, models)
    if (replica.ready) this.#notReadySince.delete(replica)
    else if (!this.#notReadySince.has(replica)) this.#notReadySince.set(replica, performance.now())
    if (result !== 'ready' && replica.ready) {
      this.#log.warn(
        { replica: replica.url, misses: replica.readiness.consecutiveFailures },
        'readiness probe got no answer; still ready until the failure threshold',
      )
    }
  }

  /** What the probe found, and the models the replica says it serves (the default first) when it says so. */
  async #check(replica: ReadonlyReplica): Promise<{ result: ProbeResult; models?: ModelVersionRef[] }> {
    // The deadline alone times the probe out (undici's own timers would fire before a stalled loop reads the answer).
    const deadline = probeDeadline(this.#options.timeoutMs)
    try {
      const response = await request(`${replica.url}/readyz`, {
        dispatcher: replica.probeClient,
        signal: deadline.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      })
      // Read as the replica's schema says, but checked: a replica of another version may say something else.
      const body = (await response.body.json().catch(() => undefined)) as Partial<ReplicaReadiness> | undefined
      const models = Array.isArray(body?.models)
        ? body.models.flatMap((m) =>
            typeof m?.name === 'string'
              ? [{ name: m.name, version: typeof m.version === 'string' ? m.version : '' }]
              : [],
          )
        : undefined
      return { result: response.statusCode === 200 ? 'ready' : 'answered_not_ready', ...(models && { models }) }
    } catch (error) {
      return { result: (error as { code?: unknown }).code === 'ECONNREFUSED' ? 'answered_not_ready' : 'no_answer' }
    } finally {
      deadline.clear()
    }
  }
}
