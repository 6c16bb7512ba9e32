/**
 * Which version a request for a bare `NAME` runs: production, or with a canary of weight w, the candidate for a share
 * w of requests. A pure function of the split and one uniform draw in [0, 1) (injected, so tests choose it): the
 * candidate exactly when the draw is below w.
 */
export interface TrafficSplit {
  production: string
  canary?: { version: string; weight: number }
}

export function chooseVersion(split: TrafficSplit, draw: number): string {
  const canary = split.canary
  if (!canary || !(canary.weight > 0)) return split.production
  return draw < canary.weight ? canary.version : split.production
}
