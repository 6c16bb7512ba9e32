/**
 * What a replica said about its own load (`X-Replica-Inflight`), as one gateway holds it: the floor of the
 * replica's load until the replica answers this gateway again or the report expires. With several gateways over one
 * pool, a gateway's own outstanding count misses the others' requests; the replica's report does not. Pure functions
 * over plain data; times are epoch ms.
 */
export interface ReportedLoad {
  /** Requests the replica holds at least, all gateways together. */
  floor: number
  /** It refused us as full (503 replica_full): not free, whatever our own count says, until `until`. */
  refused: boolean
  /** When the report stops counting. */
  until: number
}

/** Until a replica has answered, how long its requests are assumed to take. */
export const ASSUMED_LATENCY_MS = 50
/** Bounds on how long a report counts: never so short that a refusal is retried in a spin, never stale for long. */
export const MIN_HOLD_MS = 1
export const MAX_HOLD_MS = 1000

/**
 * How long a report of `floor` requests stays true: the replica serves `slots` at a time, each taking about
 * `latencyMs`, so the load above its capacity has drained after (floor − slots) / slots latencies, and the
 * requests in service end half a latency later on average. A report below capacity holds half a latency.
 */
export function holdMs(floor: number, slots: number, latencyMs: number | undefined): number {
  const latency = latencyMs ?? ASSUMED_LATENCY_MS
  const queuedBeyond = Math.max(0, floor - slots)
  const ms = (latency * (queuedBeyond + 0.5)) / Math.max(1, slots)
  return Math.min(MAX_HOLD_MS, Math.max(MIN_HOLD_MS, ms))
}

/**
 * The report in an answer: the replica counts the request it is answering among its `inflight`, and that one is
 * done, so the floor is one less.
 */
export function reportFromAnswer(
  inflight: number,
  slots: number,
  latencyMs: number | undefined,
  now: number,
): ReportedLoad {
  const floor = Math.max(0, inflight - 1)
  return { floor, refused: false, until: now + holdMs(floor, slots, latencyMs) }
}

/**
 * The report in a refusal (503 replica_full): the replica holds `inflight` (undefined when it did not say) and no
 * more fit; the refused request was never counted. It is full for us until the report expires: when the replica said
 * a place frees (X-Replica-Free-In-Ms), then — so a waiting job is neither sent back early nor leaves it idle —
 * else after `holdMs`.
 */
export function reportFromRefusal(
  inflight: number | undefined,
  slots: number,
  latencyMs: number | undefined,
  now: number,
  freeInMs?: number,
): ReportedLoad {
  const floor = Math.max(inflight ?? 0, slots)
  const hold =
    freeInMs === undefined || !Number.isFinite(freeInMs)
      ? holdMs(floor, slots, latencyMs)
      : Math.min(MAX_HOLD_MS, Math.max(MIN_HOLD_MS, freeInMs))
  return { floor, refused: true, until: now + hold }
}

/** Whether a report still counts at `now`. */
export function isCurrent(report: ReportedLoad | undefined, now: number): report is ReportedLoad {
  return report !== undefined && now < report.until
}

/**
 * The load routing sees: our own requests in flight, or what the replica reported if that is more (the other
 * gateways' requests). A current refusal makes it at least full.
 */
export function loadSeen(outstanding: number, slots: number, report: ReportedLoad | undefined, now: number): number {
  if (!isCurrent(report, now)) return outstanding
  const floor = report.refused ? Math.max(report.floor, slots) : report.floor
  return Math.max(outstanding, floor)
}
