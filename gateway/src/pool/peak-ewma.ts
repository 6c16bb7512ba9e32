/**
 * How fast a replica's latency estimate forgets a slow answer: the gateway's, and the simulator's, which must route
 * as the gateway does.
 */
export const LATENCY_TAU_MS = 10_000

/**
 * Peak-EWMA latency (Finagle's load metric): a sample above the current value replaces it at once, so a replica
 * that turns slow is avoided immediately; below it, the value decays towards the sample with time constant `tauMs`,
 * so a replica recovers its share gradually. Pure: returns the new value.
 */
export function updatePeakEwma(
  current: number | undefined,
  sampleMs: number,
  elapsedMs: number,
  tauMs: number,
): number {
  if (current === undefined || sampleMs > current) return sampleMs
  const weight = Math.exp(-Math.max(0, elapsedMs) / tauMs)
  return current * weight + sampleMs * (1 - weight)
}
