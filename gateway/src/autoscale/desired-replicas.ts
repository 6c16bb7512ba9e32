/** What the gateway measures, as plain numbers (rates in requests per second, times in seconds). */
export interface ScalingInputs {
  /** Arrival rate over the short (panic) window. */
  arrivalRateShort: number
  /** Arrival rate over the long (stable) window. */
  arrivalRateLong: number
  /** Time one request occupies one replica slot (mean upstream latency). */
  serviceTimeS: number
  /** Requests waiting in the gateway queue. */
  backlog: number
  slotsPerReplica: number
  /** Replicas ready now. */
  readyReplicas: number
}

export interface ScalingPolicy {
  /** Utilisation to aim for: below 1 leaves headroom for bursts (0.7 = 70 %). */
  targetUtilization: number
  /** The backlog should be served within this (the SLO) once new replicas are up, on top of the arrivals. */
  drainTimeS: number
  /** How long a new replica takes to become ready: replicas asked for now cannot drain anything before that. */
  startupS: number
  minReplicas: number
  maxReplicas: number
  /** Short-window demand this many times the ready capacity means panic: follow the short window, never scale down. */
  panicThreshold: number
}

export interface ScalingDecision {
  /** Replicas wanted now, before stabilisation. */
  recommended: number
  /** Replicas the short window alone asks for (arrivals plus backlog). */
  shortWindow: number
  /** Replicas the long window alone asks for. */
  longWindow: number
  panic: boolean
}

/**
 * Replicas needed to serve `rate` req/s, plus `backlog` within the drain time after new replicas start, at the
 * target utilisation. (Counting the start-up keeps a burst's backlog from asking for replicas that would arrive
 * only after it has drained.)
 */
export function replicasFor(rate: number, backlog: number, inputs: ScalingInputs, policy: ScalingPolicy): number {
  const work = (rate + backlog / (policy.drainTimeS + policy.startupS)) * inputs.serviceTimeS // busy slots needed
  return Math.ceil(work / (inputs.slotsPerReplica * policy.targetUtilization) - 1e-9)
}

const clamp = (n: number, policy: ScalingPolicy) => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n))

/**
 * Desired replicas = ceil((λ·S + Q·S/(T + start-up)) / (slots·ρ)), within [min, max]. The larger of the short and long windows
 * wins: the short one reacts to bursts at once, the long one keeps a brief lull from scaling down. When the short
 * window asks for `panicThreshold` × the ready capacity, it is panic (Knative): nothing scales down at all.
 * Scaling down is further slowed by `stabilize`.
 * Pure: a function of plain numbers.
 */
export function desiredReplicas(inputs: ScalingInputs, policy: ScalingPolicy): ScalingDecision {
  const shortWindow = replicasFor(inputs.arrivalRateShort, inputs.backlog, inputs, policy)
  const longWindow = replicasFor(inputs.arrivalRateLong, inputs.backlog, inputs, policy)
  const capacity = Math.max(inputs.readyReplicas, 1)
  const panic = shortWindow >= policy.panicThreshold * capacity
  // In panic nothing scales down, not even to what the windows ask for.
  const raw = Math.max(shortWindow, longWindow, panic ? inputs.readyReplicas : 0)
  return { recommended: clamp(raw, policy), shortWindow, longWindow, panic }
}

export interface Recommendation {
  at: number
  replicas: number
}

/**
 * Scale up at once, down slowly: the result is the highest recommendation of the last `windowMs` (the HPA's
 * scale-down stabilisation). Returns the value and the history to keep (pure).
 */
export function stabilize(
  history: readonly Recommendation[],
  next: Recommendation,
  windowMs: number,
): { replicas: number; history: Recommendation[] } {
  const kept = [...history.filter((r) => r.at > next.at - windowMs), next]
  return { replicas: Math.max(...kept.map((r) => r.replicas)), history: kept }
}
