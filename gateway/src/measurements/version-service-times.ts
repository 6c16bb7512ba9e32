import { updatePeakEwma } from '../pool/peak-ewma.ts'

/** As the replicas' latency: a slow answer counts at once, a fast one brings the estimate down over ~10 s. */
const SERVICE_TAU_MS = 10_000
/**
 * An estimate this old is stale: a version sampled only when chosen (a fallback) would otherwise keep a slow answer's
 * estimate forever, never be chosen, and never be measured again. Stale, it may get one probe.
 */
export const SERVICE_ESTIMATE_STALE_MS = 3 * SERVICE_TAU_MS

/**
 * How long each model version takes to answer once sent (upstream ms, the replica's queue and batching included), as
 * a peak EWMA per `NAME@VERSION`: what brownout admission predicts a fallback's answer from. The replicas' own latency
 * mixes every version they serve; this does not. Also who is trying an unmeasured version now (one probe at a time).
 * Times are epoch ms, passed in.
 */
export class VersionServiceTimes {
  readonly #estimates = new Map<string, { ms: number; at: number }>()
  readonly #probes = new Map<string, number>()

  record(key: string, upstreamMs: number, now: number): void {
    const current = this.#estimates.get(key)
    this.#estimates.set(key, {
      ms: updatePeakEwma(current?.ms, upstreamMs, now - (current?.at ?? now), SERVICE_TAU_MS),
      at: now,
    })
    this.#probes.delete(key)
  }

  /** The estimate, ms; undefined until the version has answered once. */
  serviceMs(key: string): number | undefined {
    return this.#estimates.get(key)?.ms
  }

  /** Its last answer is older than SERVICE_ESTIMATE_STALE_MS (false while it has none: it is unknown then). */
  stale(key: string, now: number): boolean {
    const estimate = this.#estimates.get(key)
    return estimate !== undefined && now - estimate.at >= SERVICE_ESTIMATE_STALE_MS
  }

  /** A request tries the unmeasured version, until it answers (`record`) or `until` passes (it never did). */
  startProbe(key: string, until: number): void {
    this.#probes.set(key, until)
  }

  probing(key: string, now: number): boolean {
    const until = this.#probes.get(key)
    if (until === undefined) return false
    if (until > now) return true
    this.#probes.delete(key)
    return false
  }
}
