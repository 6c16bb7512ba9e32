import type { QueueRoom } from '../queue/job-queue.ts'
import { expectedAnswer, type ServiceRate } from './expected-wait.ts'

/** Share of its remaining budget a request's expected answer time may use for it to be admitted. */
export const ADMISSION_HEADROOM = 0.8

/** Retry-After never says more than this: a client told to wait minutes would rather be told to go elsewhere. */
const MAX_RETRY_AFTER_S = 30

export interface AdmissionSettings {
  /** Deadline of a request that names none (X-Timeout-Ms): how long it may wait for its answer. */
  defaultTimeoutMs: number
  /**
   * Admission budget of a request that names no deadline: admitted only if its answer is expected within the SLO.
   * Under overload this keeps the queue short enough that what is accepted meets the SLO, and the rest is refused
   * at once with Retry-After, instead of everyone waiting seconds.
   */
  sloMs: number
}

/** How long a request may take: its own deadline when it named one, else the default timeout. */
export interface RequestBudget {
  /** Until the deadline, ms from now. */
  timeoutMs: number
  /** What its expected answer time is held against: the deadline when named, else the SLO. */
  budgetMs: number
  namedDeadline: boolean
}

export function requestBudget(namedTimeoutMs: number | undefined, settings: AdmissionSettings): RequestBudget {
  if (namedTimeoutMs !== undefined) return { timeoutMs: namedTimeoutMs, budgetMs: namedTimeoutMs, namedDeadline: true }
  const { defaultTimeoutMs, sloMs } = settings
  return { timeoutMs: defaultTimeoutMs, budgetMs: Math.min(sloMs, defaultTimeoutMs), namedDeadline: false }
}

/** The gateway's load as admission sees it, at the moment a request arrives. Plain data. */
export interface LoadNow {
  shuttingDown: boolean
  /** Routable replicas that serve the model asked for. */
  readyReplicas: number
  /**
   * The pool is waking from zero (see `wakingFromZero`): a request with no ready replica waits in the queue, within
   * its deadline, for the standby being promoted or the pod starting, instead of a no_replica refusal.
   */
  wakingUp?: boolean
  /** Whether the queue has room for this request (count and bytes, in its lane). */
  queueRoom: QueueRoom
  /** Requests waiting in the queue. */
  queued: number
  /** The routable replicas that serve the model: slots, latency, load. */
  replicas: readonly ServiceRate[]
  /** Completions per second at the measured pace; undefined until two answers have measured it. */
  measuredPace: number | undefined
  /** Completions per second recently, measured or counted (0 when none): what Retry-After is computed from. */
  recentPerSecond: number
}

export type RefusalCode = 'shutting_down' | 'no_replica' | 'queue_full' | 'would_miss_deadline'

export interface Refusal {
  code: RefusalCode
  /** The metric's reason label: the code, or `receiving_full` for a queue_full refusal because too many bodies are arriving at once. */
  reason: RefusalCode | 'receiving_full'
  message: string
  retryAfterSeconds: number
}

/**
 * Whether a request is admitted, and why not. Admission runs before the body is read, so a full or replica-less
 * gateway refuses a 10 MB upload without reading it. The rules, in order: not while shutting down; not without a
 * ready replica for its model; not past the queue's bounds; and not when its answer is expected beyond
 * `ADMISSION_HEADROOM` of its budget (see `wouldMissDeadline`).
 */
export function admissionRefusal(
  model: string | undefined,
  budget: RequestBudget,
  load: LoadNow,
  settings: AdmissionSettings,
): Refusal | undefined {
  if (load.shuttingDown) return refusal('shutting_down', 'the gateway is shutting down', 1)
  if (load.readyReplicas === 0 && !load.wakingUp) {
    return refusal('no_replica', model ? `no replica serving ${model} is ready` : 'no replica is ready', 1)
  }
  if (load.queueRoom === 'receiving') return receivingFull()
  if (load.queueRoom !== 'ok') return queueFull(load.queued, load.recentPerSecond)
  // Waking: no replica to estimate an answer from; the request's own deadline bounds its wait.
  if (load.readyReplicas === 0) return undefined
  const wait = wouldMissDeadline(budget, load)
  if (wait === undefined) return undefined
  return refusal(
    'would_miss_deadline',
    budget.namedDeadline
      ? `the answer would take about ${Math.round(wait)} ms (queue ahead included), beyond this request's deadline`
      : `the answer would take about ${Math.round(wait)} ms (queue ahead included), beyond the gateway's ${settings.sloMs} ms SLO; send X-Timeout-Ms to allow longer`,
    Math.max(1, Math.ceil(wait / 1000)),
  )
}

/**
 * Scale to zero (MIN_REPLICAS=0 with an actuator): with no replica ready in the whole pool, capacity is on its way —
 * the arrival itself makes the autoscaler ask for a replica (a standby promoted in about a second, or a pod started)
 * — so requests wait for it rather than being refused. Not for a model that no ready replica serves while others
 * do: that is not waking. Pure.
 */
export function wakingFromZero(minReplicas: number, actuated: boolean, readyInPool: number): boolean {
  return minReplicas === 0 && actuated && readyInPool === 0
}

/**
 * The expected answer time (ms) when it is beyond `ADMISSION_HEADROOM` of the budget, else undefined (admitted).
 * Refused only on a measured pace: until two answers have come, latencies are guesses (a first answer includes
 * connecting, and may be several times the next ones), and refusing on a guess turns away traffic that would have
 * been served in time. The SLO is a target, not the client's deadline: a request that would be sent at once is
 * always admitted (refusing it cannot make it faster), even after a slow answer has raised the latency estimate.
 * Admitted only with room to spare: the estimate is an average, and a request admitted at the edge would often miss.
 */
export function wouldMissDeadline(
  budget: RequestBudget,
  load: Pick<LoadNow, 'queued' | 'replicas' | 'measuredPace'>,
): number | undefined {
  if (load.measuredPace === undefined) return undefined
  const expected = expectedAnswer(load.queued, load.replicas, load.measuredPace)
  if (expected === undefined) return undefined
  if (!budget.namedDeadline && expected.queueWaitMs === 0) return undefined
  return expected.answerMs > budget.budgetMs * ADMISSION_HEADROOM ? expected.answerMs : undefined
}

/** The refusal of a full queue, with the time until the requests ahead (and this one) would have been served. */
export function queueFull(queued: number, recentPerSecond: number): Refusal {
  return refusal(
    'queue_full',
    `the gateway queue is full (${queued} waiting)`,
    retryAfterSeconds(queued + 1, recentPerSecond),
  )
}

/**
 * The refusal of a body when MAX_RECEIVING_BYTES of others are still arriving: uploads in progress end within
 * seconds (they are admitted only with room in the queue), so retrying in one is worth it.
 */
export function receivingFull(): Refusal {
  return {
    ...refusal('queue_full', 'the gateway is receiving as many request bodies as it may at once; retry shortly', 1),
    reason: 'receiving_full',
  }
}

/** Seconds until `queued` jobs would be served at `perSecond`, at least 1, at most 30 (2 when nothing was served). */
export function retryAfterSeconds(queued: number, perSecond: number): number {
  if (perSecond <= 0) return 2
  return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(queued / perSecond)))
}

function refusal(code: RefusalCode, message: string, retryAfterSeconds: number): Refusal {
  return { code, reason: code, message, retryAfterSeconds }
}
