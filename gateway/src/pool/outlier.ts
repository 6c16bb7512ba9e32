/** Passive health: what one upstream attempt says about the replica. */
export type AttemptOutcome = 'success' | 'failure' | 'refused'

export interface OutlierState {
  consecutiveFailures: number
  /** How many times the replica was ejected (drives the exponential back-off). */
  ejections: number
  /** Epoch ms before which the replica may not come back; 0 when not ejected. */
  ejectedUntil: number
}

export interface OutlierPolicy {
  /** Consecutive failures (5xx, resets, timeouts) that eject a replica. */
  consecutiveFailures: number
  baseEjectionMs: number
  maxEjectionMs: number
}

export const HEALTHY: OutlierState = { consecutiveFailures: 0, ejections: 0, ejectedUntil: 0 }

/**
 * Envoy-style consecutive-failure ejection with exponential back-off (base × 2^(ejections), capped). A refused
 * connection is unambiguous (nothing listens), so it ejects at once. A success resets the failure streak; the
 * ejection count resets when a probe re-admits the replica after a clean run (see `readmit`).
 */
export function recordOutcome(
  state: OutlierState,
  outcome: AttemptOutcome,
  now: number,
  policy: OutlierPolicy,
): OutlierState {
  if (outcome === 'success') return state.consecutiveFailures === 0 ? state : { ...state, consecutiveFailures: 0 }
  const consecutiveFailures = state.consecutiveFailures + 1
  if (isEjected(state) || (outcome !== 'refused' && consecutiveFailures < policy.consecutiveFailures)) {
    return { ...state, consecutiveFailures }
  }
  const duration = Math.min(policy.maxEjectionMs, policy.baseEjectionMs * 2 ** state.ejections)
  return { consecutiveFailures, ejections: state.ejections + 1, ejectedUntil: now + duration }
}

/**
 * An ejected replica stays out until a successful probe re-admits it (after the ejection period): coming back is
 * an event, never a silent effect of time passing.
 */
export function isEjected(state: OutlierState): boolean {
  return state.ejectedUntil !== 0
}

/** A successful health probe after the ejection period ends brings the replica back with a clean streak. */
export function readmit(state: OutlierState, now: number): OutlierState {
  if (state.ejectedUntil === 0 || state.ejectedUntil > now) return state
  return { consecutiveFailures: 0, ejections: state.ejections, ejectedUntil: 0 }
}
