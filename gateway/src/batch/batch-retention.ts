/** A finished batch job as retention sees it. */
export interface FinishedJob {
  id: string
  /** When it ended, ms since the epoch. */
  finishedAtMs: number
}

export interface RetentionPolicy {
  /** Finished jobs kept at most (the newest ones). */
  keep: number
  /** A finished job older than this is deleted, ms. */
  maxAgeMs: number
}

/**
 * Which finished jobs to delete: all but the `keep` that ended last, and any that ended more than `maxAgeMs` ago.
 * Queued and running jobs are never candidates (the caller passes finished ones only). Ties in end time keep the
 * order given, so the answer does not depend on how the store sorts equal times.
 */
export function jobsToPrune(finished: readonly FinishedJob[], nowMs: number, policy: RetentionPolicy): string[] {
  const newestFirst = finished
    .map((job, index) => ({ job, index }))
    .sort((a, b) => b.job.finishedAtMs - a.job.finishedAtMs || a.index - b.index)
  return newestFirst
    .filter(({ job }, rank) => rank >= policy.keep || nowMs - job.finishedAtMs > policy.maxAgeMs)
    .map(({ job }) => job.id)
}

/**
 * Whether one more job may be queued for an owner that already has `active` queued or running: the quota keeps one
 * client from filling the store and the lane with thousands of jobs. Returns the refusal message, or undefined.
 */
export function quotaRefusal(active: number, maxActive: number): string | undefined {
  if (active < maxActive) return undefined
  return `${active} batch job(s) of yours are already queued or running (at most ${maxActive}: BATCH_MAX_ACTIVE_JOBS); wait for one to finish or cancel one`
}
