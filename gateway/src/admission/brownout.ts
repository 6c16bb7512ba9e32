import { ADMISSION_HEADROOM, type LoadNow, type RequestBudget, wouldMissDeadline } from './admission.ts'
import { expectedQueueWaitMs, type ServiceRate } from './expected-wait.ts'

/** The fallback version as admission sees it when a request arrives. Plain data. */
export interface FallbackLoad {
  /** The routable replicas serving the fallback (often the same ones as the primary's). */
  replicas: readonly ServiceRate[]
  /** How long the fallback takes to answer once sent, measured (ms); undefined until it has answered once. */
  serviceMs: number | undefined
  /** That measurement is old (no answer for a while): believed if it fits, re-measured by a probe if not. */
  stale: boolean
  /** A request is trying the fallback while its service time is still unmeasured. */
  probing: boolean
}

export type BrownoutChoice =
  /** The primary is expected in time: it runs (the fallback is never chosen then). */
  | { kind: 'primary' }
  /** The primary would miss, the fallback is expected in time (or is being measured, `probe`): it runs, degraded. */
  | { kind: 'fallback'; expectedMs: number | undefined; probe: boolean }
  /** Neither is expected in time: refused, as without a fallback. */
  | { kind: 'refuse' }

/**
 * Brownout: which version answers a request whose primary admission expects to miss the budget. The fallback joins
 * the same first-in-first-out queue, so it waits as long as the primary would (and for a slot on a replica serving
 * it); what it saves is its own service time, and the capacity the queue behind it then drains with. Chosen only
 * when the primary would miss (by the very rule that refuses it, `wouldMissDeadline`) and the fallback's expected
 * wait plus its measured service time is within `ADMISSION_HEADROOM` of the budget; never without a routable replica
 * serving it. Until the fallback has answered
 * once its service time is unknown: one request at a time may try it, when the wait alone fits, so the gateway
 * learns it (a guess refused would never be measured; one probe costs at most one late answer). The same when an old
 * measurement says it would not fit: the fallback is measured only when chosen, so one slow answer would otherwise
 * keep it out for good.
 */
export function brownoutChoice(
  budget: RequestBudget,
  load: Pick<LoadNow, 'queued' | 'replicas' | 'measuredPace'>,
  fallback: FallbackLoad | undefined,
): BrownoutChoice {
  if (wouldMissDeadline(budget, load) === undefined) return { kind: 'primary' }
  if (!fallback || fallback.replicas.length === 0) return { kind: 'refuse' }
  // One queue, first in first out: the jobs ahead drain at the primary's pace, and then it needs a fallback slot.
  const waits = [load.replicas, fallback.replicas].map((r) =>
    expectedQueueWaitMs(load.queued, r, load.measuredPace ?? 0),
  )
  if (waits.some((w) => w === undefined)) return { kind: 'refuse' }
  const waitMs = Math.max(...(waits as number[]))
  const allowedMs = budget.budgetMs * ADMISSION_HEADROOM
  if (fallback.serviceMs !== undefined) {
    const expectedMs = waitMs + fallback.serviceMs
    if (expectedMs <= allowedMs) return { kind: 'fallback', expectedMs, probe: false }
    if (!fallback.stale) return { kind: 'refuse' }
  }
  return !fallback.probing && waitMs <= allowedMs
    ? { kind: 'fallback', expectedMs: undefined, probe: true }
    : { kind: 'refuse' }
}
