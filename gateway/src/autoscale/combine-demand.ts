import type { ScalingInputs } from './desired-replicas.ts'

/**
 * The whole pool's demand from what each gateway measured of its own share. Behind a Service, N gateways each see
 * about 1/N of the arrivals and hold their own queue; a count sized from one share is about 1/N of what the pool
 * needs. Rates, backlogs and trends add; the service time is the arrival-weighted mean (of S and of S², so the
 * variability of the mix is kept, not averaged away); the ready replicas are the most any gateway sees (they share
 * one pool: a gateway that has not yet probed a new replica sees fewer); the start-up and slots are this gateway's
 * own (it is the one that measured the start-up of what it asked for). Pure.
 *
 * The short-window rates come in already trimmed of their Poisson noise (burstRate), each gateway by z·√(its count);
 * the sum is trimmed by z·Σ√nᵢ ≥ z·√Σnᵢ, so N gateways react to a burst a little later than one would: the
 * conservative side for scaling up, never a replica bought for noise.
 */
export function combineDemand(own: ScalingInputs, peers: readonly ScalingInputs[]): ScalingInputs {
  if (peers.length === 0) return own
  const all = [own, ...peers]
  const sum = (pick: (inputs: ScalingInputs) => number) => all.reduce((total, inputs) => total + pick(inputs), 0)
  const arrivals = sum((i) => i.arrivalRateLong)
  // Weighted by arrivals; with none anywhere, every gateway's estimate counts the same.
  const weight = (i: ScalingInputs) => (arrivals > 0 ? i.arrivalRateLong / arrivals : 1 / all.length)
  const serviceTimeS = sum((i) => weight(i) * i.serviceTimeS)
  const meanSquare = sum((i) => weight(i) * i.serviceTimeS ** 2 * (1 + (i.serviceTimeCv2 ?? 1)))
  const trends = all.map((i) => i.arrivalTrend).filter((t) => t !== undefined)
  return {
    arrivalRateShort: sum((i) => i.arrivalRateShort),
    arrivalRateLong: arrivals,
    serviceTimeS,
    serviceTimeCv2: serviceTimeS > 0 ? Math.max(0, meanSquare / serviceTimeS ** 2 - 1) : own.serviceTimeCv2,
    backlog: sum((i) => i.backlog),
    slotsPerReplica: own.slotsPerReplica,
    readyReplicas: Math.max(...all.map((i) => i.readyReplicas)),
    arrivalTrend: trends.length > 0 ? trends.reduce((a, b) => a + b, 0) : undefined,
    startupS: own.startupS,
  }
}

/** A peer's inputs as last fetched, by the gateway's identity. */
export interface PeerReport {
  gateway: string
  inputs: ScalingInputs
  /** When it was fetched (ms). */
  at: number
}

/**
 * The peers whose demand counts at `now`: fetched within `maxAgeMs` (a gateway that stopped answering has stopped
 * receiving traffic too, or soon will: its share moves to the others, which count it themselves), newest report
 * per identity, never this gateway's own (its address is in the peer list too). Pure.
 */
export function freshPeers(
  reports: readonly PeerReport[],
  self: string,
  now: number,
  maxAgeMs: number,
): ScalingInputs[] {
  const newest = new Map<string, PeerReport>()
  for (const report of reports) {
    if (report.gateway === self || now - report.at > maxAgeMs) continue
    const seen = newest.get(report.gateway)
    if (!seen || seen.at < report.at) newest.set(report.gateway, report)
  }
  return [...newest.values()].map((r) => r.inputs)
}
