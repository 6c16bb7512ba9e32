import { errors } from 'undici'
import { bearerHeader } from '../../../common/auth/token-set.ts'
import { errorCodeOf } from '../../../common/errors.ts'
import { FORWARDED_HEADERS, REPLICA_LOAD_HEADERS } from '../../../common/http/replica-protocol.ts'
import type { ReadonlyReplica } from '../pool/replica.ts'
import type { Job } from '../queue/job.ts'

/** How one attempt at a replica ended, in the terms the dispatcher acts on. */
export type AttemptResult = AttemptEnd & {
  /** The replica's own count of requests in flight (X-Replica-Inflight), when it answered with one. */
  reportedInflight?: number
}

type AttemptEnd =
  /** The replica answered something to pass on: a prediction, a 4xx about the input, a 504. */
  | { kind: 'answer'; status: number; body: Buffer; upstreamMs: number }
  /**
   * Nothing was or could be done there; another replica may succeed: connection refused or reset, or a 503 — its
   * own queue overflowed (`queue_full`) or it is shutting down.
   */
  | {
      kind: 'retryable'
      reason: 'refused' | 'reset' | 'queue_full' | 'shutting_down'
      message: string
      retryAfter?: number
    }
  /**
   * It refused at once as full (503 replica_full): no free slot, every one taken by some gateway's work; the job was
   * not started. "Full" means this, and only this, throughout the gateway (see Candidate.free).
   */
  | { kind: 'full'; freeInMs?: number }
  /** The replica failed this request (5xx, or no answer in time); not retried. */
  | { kind: 'failed'; reason: 'server_error' | 'no_answer'; message: string }
  /** We gave up: the client left. */
  | { kind: 'aborted' }

export interface ForwardOptions {
  /** How long past the deadline a replica may take to send its own 504 before it counts as hung. */
  graceMs: number
  /** The token replicas are sent (REPLICA_TOKEN_FILE, read as it is now), if any. */
  token?: () => string | undefined
}

/**
 * Sends the job's original body to one replica's `/predict`, forwarding the request id and the remaining time
 * budget, and classifies the outcome. Never throws.
 */
export async function forwardToReplica(
  job: Job,
  replica: ReadonlyReplica,
  signal: AbortSignal,
  options: ForwardOptions,
): Promise<AttemptResult> {
  const started = performance.now()
  const remaining = Math.max(0, Math.floor(job.deadline - started))
  const patience = remaining + options.graceMs
  try {
    const response = await replica.connections.request({
      path: job.model === undefined ? '/predict' : `/predict?model=${encodeURIComponent(job.model)}`,
      method: 'POST',
      body: job.body,
      headers: {
        'content-type': job.contentType,
        [FORWARDED_HEADERS.requestId]: job.id,
        [FORWARDED_HEADERS.timeoutMs]: String(remaining),
        ...bearerHeader(options.token?.()),
      },
      signal,
      headersTimeout: patience,
      bodyTimeout: patience,
    })
    const body = Buffer.from(await response.body.arrayBuffer())
    const upstreamMs = performance.now() - started
    const inflight = Number(response.headers[REPLICA_LOAD_HEADERS.inflight])
    const reportedInflight = Number.isFinite(inflight) ? inflight : undefined
    const status = response.statusCode
    if (status === 503) {
      const code = errorCodeOf(body)
      if (code === 'replica_full') {
        const freeIn = Number(response.headers[REPLICA_LOAD_HEADERS.freeInMs] ?? Number.NaN)
        return { kind: 'full', reportedInflight, ...(Number.isFinite(freeIn) && { freeInMs: freeIn }) }
      }
      const retryAfter = Number(response.headers['retry-after']) || undefined
      const reason = code === 'queue_full' ? 'queue_full' : 'shutting_down'
      const message = `replica answered 503 ${code ?? ''}`.trim()
      return { kind: 'retryable', reason, message, retryAfter, reportedInflight }
    }
    if (status >= 500 && status !== 504) {
      return { kind: 'failed', reason: 'server_error', message: `replica answered ${status}`, reportedInflight }
    }
    return { kind: 'answer', status, body, upstreamMs, reportedInflight }
  } catch (error) {
    if (signal.aborted) return { kind: 'aborted' }
    return classifyError(error)
  }
}

function classifyError(error: unknown): AttemptResult {
  const e = error as { code?: string; message?: string; cause?: { code?: string } }
  const code = e.code ?? e.cause?.code
  const message = e.message ?? String(error)
  if (code === 'ECONNREFUSED' || error instanceof errors.ConnectTimeoutError || code === 'EHOSTUNREACH') {
    return { kind: 'retryable', reason: 'refused', message }
  }
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) {
    return { kind: 'failed', reason: 'no_answer', message: 'the replica did not answer in time' }
  }
  // Reset, closed socket, broken pipe: the replica went away mid-request. Predictions are idempotent: retry.
  return { kind: 'retryable', reason: 'reset', message }
}
