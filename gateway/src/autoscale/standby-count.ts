/**
 * How many warm standbys to keep: replicas booted and held at a small CPU request, not routed to, that a resize
 * turns into serving replicas in about a second (Kubernetes' in-place pod resize) instead of one start-up.
 *
 * A standby is worth keeping for the part of a burst the pool could not have absorbed by scaling alone: what the
 * demand at a moment asked for beyond what had been asked for one start-up earlier (a pod asked for then would be
 * serving now; anything beyond it arrives one start-up late). The count is the largest such shortfall seen over a
 * recent horizon, in replicas: the bursts this service has actually had, not a guess.
 */
/** `off`, `auto` (sized from the bursts seen, see `shortfallPeak`) or a fixed count. */
export type StandbySetting = 'off' | 'auto' | number

/** One tick's sample: the replicas demand asked for then (short window, before stabilisation) and the count asked of the cluster. */
export interface DemandSample {
  at: number
  /** Replicas the demand alone asked for (the short window's recommendation). */
  need: number
  /** Serving replicas asked of the cluster (the stabilised desired count). */
  asked: number
}

/**
 * Pure: the samples to keep after adding `next` (those within `horizonMs` plus one start-up before it, for the
 * look-back), oldest first.
 */
export function recordDemand(
  history: readonly DemandSample[],
  next: DemandSample,
  horizonMs: number,
  startupMs: number,
): DemandSample[] {
  const oldest = next.at - horizonMs - startupMs
  const kept = history.filter((s) => s.at >= oldest && s.at <= next.at)
  kept.push(next)
  return kept
}

/**
 * Pure: the largest shortfall over the last `horizonMs` before `now` — for each sample, its need less what had been
 * asked one start-up before it (the latest sample at or before then; none: the earliest known) — within [0, max].
 */
export function shortfallPeak(
  history: readonly DemandSample[],
  now: number,
  horizonMs: number,
  startupMs: number,
): number {
  let peak = 0
  let j = 0
  for (const sample of history) {
    if (sample.at < now - horizonMs) continue
    const then = sample.at - startupMs
    while (j + 1 < history.length && history[j + 1]!.at <= then) j++
    // The last sample at or before `then`; the first one when the history starts later.
    const before = history[j]!.asked
    peak = Math.max(peak, sample.need - before)
  }
  return Math.max(0, Math.ceil(peak - 1e-9))
}

/**
 * Pure: standbys to keep now, by the setting — `auto`: the shortfall peak, at least `min` (before any burst is seen,
 * the first one is what a standby is for), at most `max`; a count: that, at most `max`.
 */
export function desiredStandbys(
  setting: StandbySetting,
  bounds: { min: number; max: number },
  history: readonly DemandSample[],
  now: number,
  horizonMs: number,
  startupMs: number,
): number {
  if (setting === 'off') return 0
  if (setting === 'auto')
    return Math.min(bounds.max, Math.max(bounds.min, shortfallPeak(history, now, horizonMs, startupMs)))
  return Math.min(bounds.max, setting)
}

/** Parses `off`, `auto` or a count (a fixed number of standbys; 0 is `off`). */
export function parseStandbySetting(raw: string): StandbySetting {
  const value = raw.trim().toLowerCase()
  if (value === 'off' || value === 'auto') return value
  if (/^[0-9]{1,4}$/.test(value)) return Number(value) === 0 ? 'off' : Number(value)
  throw new Error('expected off, auto or a number of standbys')
}
