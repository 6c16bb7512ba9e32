/**
 * Erlang C (M/M/c): the queue a replica pool makes, so the policy can size for the SLO instead of for a fixed
 * utilisation. With 40 ms requests and a 500 ms SLO two replicas at 85 % keep almost every request within it,
 * where a 70 % target would pay for a third; with 126 ms requests the same SLO needs more headroom.
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

/** P(wait > t): Erlang C times the exponential tail of the wait, rate (servers − load) / S. */
export function waitTail(servers: number, load: number, serviceS: number, t: number): number {
  if (load >= servers) return 1
  return erlangC(servers, load) * Math.exp((-(servers - load) / serviceS) * Math.max(0, t))
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
): number {
  for (let n = Math.max(0, least); n < most; n++)
    if (n > 0 && waitTail(n * slotsPerReplica, load, serviceS, budgetS) <= share) return n
  return Math.max(most, least)
}
