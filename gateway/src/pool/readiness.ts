/**
 * What one readiness probe found. `answered_not_ready`: the replica itself said no (non-200), or nothing listens
 * (connection refused) — unambiguous. `no_answer`: a timeout or a broken connection — which a replica busy with
 * predictions, or a gateway whose own event loop is busy, produces too.
 */
export type ProbeResult = 'ready' | 'answered_not_ready' | 'no_answer'

export interface ReadinessState {
  ready: boolean
  consecutiveFailures: number
  consecutiveSuccesses: number
}

/** As Kubernetes probes: how many probes in a row it takes to change a replica's readiness. */
export interface ReadinessThresholds {
  /** Probes in a row without an answer that make a ready replica not ready. */
  failureThreshold: number
  /** Successful probes in a row that make a not-ready replica ready. */
  successThreshold: number
}

export const NOT_YET_READY: ReadinessState = { ready: false, consecutiveFailures: 0, consecutiveSuccesses: 0 }

/**
 * Readiness after a probe. A missed probe only counts: one slow answer must not make a serving replica unroutable.
 * A replica that answers "not ready" (it is shutting down, or still warming up) or that nothing listens on is out
 * at once — there is no doubt to wait out, and passive ejection already acts on failed predictions.
 */
export function afterProbe(
  state: ReadinessState,
  result: ProbeResult,
  thresholds: ReadinessThresholds,
): ReadinessState {
  if (result === 'ready') {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1
    return {
      ready: state.ready || consecutiveSuccesses >= thresholds.successThreshold,
      consecutiveFailures: 0,
      consecutiveSuccesses,
    }
  }
  const consecutiveFailures = state.consecutiveFailures + 1
  return {
    ready: result === 'no_answer' && state.ready && consecutiveFailures < thresholds.failureThreshold,
    consecutiveFailures,
    consecutiveSuccesses: 0,
  }
}
