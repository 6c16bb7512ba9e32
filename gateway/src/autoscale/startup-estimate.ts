/**
 * How long a replica asked for takes to serve, measured online: from the tick the autoscaler first wanted more
 * replicas than were ready to the tick that many were ready. Whatever sits in between (the actuator, a Kubernetes
 * scheduler, an image pull, the replica's own model load) is what the policy has to plan around, and it changes
 * with the cluster, so a configured constant is only the starting point.
 */
export interface StartupEstimate {
  /** Seconds from asking for a replica to its being ready, as the policy should plan for. */
  estimateS: number
  /** Measured start-ups so far. */
  samples: number
  /** Asks not yet fulfilled: when the count `replicas` was first wanted (ms). */
  pending: readonly { at: number; replicas: number }[]
}

/** A slow start-up is believed at once, a fast one only gradually: planning for too short a start-up costs SLO. */
const FASTER_WEIGHT = 0.3

export function initialStartupEstimate(configuredS: number): StartupEstimate {
  return { estimateS: configuredS, samples: 0, pending: [] }
}

/** Pure: one tick, with the count just wanted and the replicas ready now. */
export function updateStartupEstimate(
  state: StartupEstimate,
  now: number,
  wanted: number,
  ready: number,
): StartupEstimate {
  let { estimateS, samples } = state
  const pending: { at: number; replicas: number }[] = []
  for (const ask of state.pending) {
    if (ask.replicas <= ready) {
      const sample = (now - ask.at) / 1000
      estimateS = samples === 0 || sample >= estimateS ? sample : estimateS + FASTER_WEIGHT * (sample - estimateS)
      samples++
    } else if (ask.replicas <= wanted) pending.push(ask) // still wanted; an ask given up on measures nothing
  }
  const highest = Math.max(ready, ...pending.map((a) => a.replicas))
  if (wanted > highest) pending.push({ at: now, replicas: wanted })
  return { estimateS, samples, pending }
}
