/**
 * Erlang C (M/M/c, and M/G/c by Allen–Cunneen): the queue a replica pool makes, so the policy can size for the SLO
 * instead of for a fixed utilisation. With 40 ms requests and a 500 ms SLO two replicas at 85 % keep almost every
 * request within it, where a 70 % target would pay for a third; with 126 ms requests the same SLO needs more headroom.
 */

/** Probability that an arrival waits at all, with `servers` slots and `load` = λ·S busy slots offered (< servers). */
export function erlangC(servers: number, load: number): number {
  if (load <= 0) return 0
  if (load >= servers) return 1
  // Erlang B by its recurrence (stable for large pools), then C from B.
  let b = 1
  for (let k = 1; k <= servers; k++) b = (load * b) / (k + load * b)
  return b / (1 - (load / servers) * (1 - b))
}

/**
 * P(wait > t): Erlang C times the exponential tail of the wait, rate (servers − load) / S, stretched by the
 * Allen–Cunneen factor (1 + cs²) / 2 for Poisson arrivals and service times of squared coefficient of variation
 * `serviceCv2` (M/G/c). With exponential service (cs² = 1) this is exact M/M/c; near-constant inference
 * (cs² ≈ 0.03) waits about half as long, which is what lets one replica at 25 % load serve a 500 ms SLO alone.
 */
export function waitTail(servers: number, load: number, serviceS: number, t: number, serviceCv2 = 1): number {
  if (load >= servers) return 1
  const variability = (1 + Math.max(0, serviceCv2)) / 2
  return erlangC(servers, load) * Math.exp((-(servers - load) / (serviceS * variability)) * Math.max(0, t))
}

/**
 * The fewest replicas (from `least` to `most`) whose slots keep P(wait > budget) within `share`; `most` when none
 * does. Pure; more load never asks for fewer.
 */
export function replicasForWaitTail(
  load: number,
  serviceS: number,
  budgetS: number,
  share: number,
  slotsPerReplica: number,
  least: number,
  most: number,
  serviceCv2 = 1,
): number {
  for (let n = Math.max(0, least); n < most; n++)
    if (n > 0 && waitTail(n * slotsPerReplica, load, serviceS, budgetS, serviceCv2) <= share) return n
  return Math.max(most, least)
}
