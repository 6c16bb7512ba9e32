/** One scheduled request and what became of it. Times are ms from the start of the run. */
export interface RequestRecord {
  index: number
  /** The second of the workload this request belongs to. */
  second: number
  intendedMs: number
  sentMs: number | undefined
  answeredMs: number | undefined
  /** HTTP status, or why there is none: no answer in time, a transport error, or not sent (concurrency cap). */
  status: number | 'timeout' | 'error' | 'not_sent'
  queueSize: number | undefined
  /** A refusal's Retry-After, in seconds, when it had one. */
  retryAfterS?: number
  /** The gateway's `timing_ms.upstream`: how long the replica held this request (a service-time sample). */
  upstreamMs: number | undefined
  replica: string | undefined
  predicted: string | undefined
  /** Brownout: the answer came from the model's fallback (the gateway said `degraded: true`). */
  degraded?: boolean
  /** The answer's five best labels, best first, when it gave them. */
  top5?: string[]
  truth: string | undefined
  image: string
}

/** Replicas as the gateway reported them at a given second (GET /replicas), when it exposes them. */
export interface ReplicaSample {
  second: number
  ready: number
  total: number
  desired: number | undefined
}

/** Latency counted from the intended send time, so a late send (or a slow client) cannot hide queueing. */
export function latencyMs(record: RequestRecord): number | undefined {
  return record.answeredMs === undefined ? undefined : record.answeredMs - record.intendedMs
}
