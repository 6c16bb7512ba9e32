import { replicasForWaitTail } from './erlang-c.ts'

/** What the gateway measures, as plain numbers (rates in requests per second, times in seconds). */
export interface ScalingInputs {
  /** Arrival rate over the short (panic) window. */
  arrivalRateShort: number
  /** Arrival rate over the long (stable) window. */
  arrivalRateLong: number
  /** Time one request occupies one replica slot (mean upstream latency). */
  serviceTimeS: number
  /**
   * Squared coefficient of variation of that time (variance / mean², measured online): how much less than
   * exponential service (1) the queue waits. Undefined: exponential, the pessimistic assumption.
   */
  serviceTimeCv2?: number
  /** Requests waiting in the gateway queue. */
  backlog: number
  slotsPerReplica: number
  /** Replicas ready now. */
  readyReplicas: number
  /**
   * How fast arrivals are rising beyond noise, req/s per second (0 when flat or falling): see `arrivalTrend`.
   * Undefined: not measured (no forecast).
   */
  arrivalTrend?: number
  /** How long a replica asked for now takes to serve, s (measured online: see startup-estimate.ts). */
  startupS: number
}

export interface ScalingPolicy {
  /** Utilisation to aim for: below 1 leaves headroom for bursts (0.7 = 70 %). */
  targetUtilization: number
  /** The backlog should be served within this (the SLO) once new replicas are up, on top of the arrivals. */
  drainTimeS: number
  /**
   * Share of the start-up the short window's rate is extrapolated over along `arrivalTrend`: replicas asked for
   * now serve only after it, so they must be sized for the rate then, not now (0: no forecast).
   */
  trendGain: number
  minReplicas: number
  maxReplicas: number
  /**
   * When set, `targetUtilization` is only a ceiling: replicas are added until, by M/G/c (Erlang C with the
   * Allen–Cunneen factor for `serviceTimeCv2`), at most this share of requests would wait longer than the SLO
   * leaves after their service (undefined: size at the utilisation alone).
   */
  waitTailShare?: number
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
  const work = (rate + backlog / (policy.drainTimeS + inputs.startupS)) * inputs.serviceTimeS // busy slots needed
  const atUtilisation = Math.ceil(work / (inputs.slotsPerReplica * policy.targetUtilization) - 1e-9)
  // A share of 1 holds for any pool: nothing to add, so no Erlang C on every tick.
  if (policy.waitTailShare === undefined || policy.waitTailShare >= 1 || work <= 0) return atUtilisation
  // The SLO's own test: the wait a request may have is what the SLO leaves after its service.
  const budgetS = policy.drainTimeS - inputs.serviceTimeS
  if (budgetS <= 0) return atUtilisation
  const most = Math.max(atUtilisation, policy.maxReplicas)
  return replicasForWaitTail(
    work,
    inputs.serviceTimeS,
    budgetS,
    policy.waitTailShare,
    inputs.slotsPerReplica,
    atUtilisation,
    most,
    inputs.serviceTimeCv2 ?? 1,
  )
}

const clamp = (n: number, policy: ScalingPolicy) => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n))

/**
 * A burst's rate as the short window can vouch for it: `count` arrivals in `seconds`, less `z` standard deviations
 * of their Poisson noise. A 3 s window at 34 req/s counts 102 ± 10, and the upper half of that noise, held by the
 * scale-down stabilisation for a minute, would buy a replica the load never needed; a real step clears the margin
 * within a second or two. Pure.
 */
export function burstRate(count: number, seconds: number, z: number): number {
  return Math.max(0, count - z * Math.sqrt(count)) / seconds
}

/**
 * Rising arrivals, req/s per second, from two halves of a window: `older` and `recent` requests counted over
 * `halfS` seconds each. Only a rise beyond `z` standard deviations of the Poisson noise counts (what is left of it
 * after that margin), so a flat workload forecasts nothing and a falling one never scales down early. Pure.
 */
export function arrivalTrend(older: number, recent: number, halfS: number, z = 2): number {
  const excess = recent - older - z * Math.sqrt(older + recent)
  return excess <= 0 ? 0 : excess / halfS / halfS
}

/**
 * Desired replicas: for a = λ·S + Q·S/(T + start-up) busy slots, at least ceil(a / (slots·ρ)), and with a wait-tail
 * share, the fewest for which M/G/c keeps P(wait > T − S) within it (`replicasFor`), within [min, max]; the short
 * window's λ may be forecast over the start-up along the arrivals' trend (λ + trend × gain × start-up): a replica
 * asked for now serves only once it is up. The larger of the short and long windows
 * wins: the short one reacts to bursts at once, the long one keeps a brief lull from scaling down. When the short
 * window asks for `panicThreshold` × the ready capacity, it is panic (Knative): nothing scales down at all.
 * Scaling down is further slowed by `stabilize`.
 * Pure: a function of plain numbers.
 */
export function desiredReplicas(inputs: ScalingInputs, policy: ScalingPolicy): ScalingDecision {
  const forecast = inputs.arrivalRateShort + (inputs.arrivalTrend ?? 0) * policy.trendGain * inputs.startupS
  const shortWindow = replicasFor(forecast, inputs.backlog, inputs, policy)
  const longWindow = replicasFor(inputs.arrivalRateLong, inputs.backlog, inputs, policy)
  const capacity = Math.max(inputs.readyReplicas, 1)
  const panic = shortWindow >= policy.panicThreshold * capacity
  // In panic nothing scales down, not even to what the windows ask for.
  const raw = Math.max(shortWindow, longWindow, panic ? inputs.readyReplicas : 0)
  return { recommended: clamp(raw, policy), shortWindow, longWindow, panic }
}

/**
 * How long scale-down waits, s: the configured stabilisation, or `startups` measured start-ups when that is longer.
 * A replica let go too early costs one start-up of misses when the load returns, and keeping it costs only its
 * idle time (the ski-rental trade-off): so the slower replicas start, the longer an idle one is worth keeping.
 * Pure.
 */
export function scaleDownWindowS(stabilizationS: number, startups: number, startupS: number): number {
  return Math.max(stabilizationS, startups * startupS)
}

export interface Recommendation {
  at: number
  replicas: number
}

/**
 * Scale up at once, down slowly: the result is the highest recommendation of the last `windowMs` (the HPA's
 * scale-down stabilisation). Returns the value and the history to keep: only recommendations that could still be
 * the highest of some later window (each higher than every later one: a short, decreasing list), back to `keepMs`,
 * so a window that grows (a slower start-up measured) still sees what came before it. Pure.
 */
export function stabilize(
  history: readonly Recommendation[],
  next: Recommendation,
  windowMs: number,
  keepMs = windowMs,
): { replicas: number; history: Recommendation[] } {
  const kept = [
    ...history.filter((r) => r.at > next.at - Math.max(keepMs, windowMs) && r.replicas > next.replicas),
    next,
  ]
  const inWindow = kept.filter((r) => r.at > next.at - windowMs)
  return { replicas: Math.max(...inWindow.map((r) => r.replicas)), history: kept }
}
