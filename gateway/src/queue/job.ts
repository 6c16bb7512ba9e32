import type { ErrorCode } from '../../../common/errors.ts'

export type Priority = 'normal' | 'low'

/** The replica's answer, passed on to the client (the gateway adds its fields on success). */
export interface UpstreamAnswer {
  status: number
  body: Buffer
  replica: string
  upstreamMs: number
}

export type JobOutcome =
  | { kind: 'answer'; answer: UpstreamAnswer }
  | { kind: 'error'; code: ErrorCode; message: string; retryAfterSeconds?: number }

/** One accepted prediction request, from admission until it is answered. */
export interface Job {
  id: string
  body: Buffer
  /** Bytes held in the queue (the body length). */
  size: number
  contentType: string
  /** The model asked for; undefined = the replicas' default. */
  model: string | undefined
  priority: Priority
  /** performance.now() times. */
  receivedAt: number
  enqueuedAt: number
  deadline: number
  /** Time spent queued, summed over attempts. */
  queueMs: number
  attempts: number
  /** Replicas already tried: a retry goes elsewhere. */
  tried: Set<string>
  /** Aborts when the client disconnects. */
  clientGone: AbortSignal
  /** Settles the job exactly once; later calls are ignored. */
  settle: (outcome: JobOutcome) => void
  settled: boolean
}
