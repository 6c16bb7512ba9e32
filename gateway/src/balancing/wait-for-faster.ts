import type { Candidate } from './candidate.ts'

/** Requests per ms a replica completes when busy: its slots over its latency. */
const serviceRate = (c: Candidate) => c.slots / Math.max(c.latencyMs, 1)

/**
 * Late binding's second half: `chosen` has a free slot, but would a queued job be done sooner by waiting for a
 * faster, busy replica? The faster replicas would clear their in-flight work and all `queued` jobs (this one
 * included) in about (their load + queued) / (their combined rate). If that is sooner than `chosen` alone takes,
 * the job waits; once the queue is long enough, the slower replica is worth using and it gets the job.
 * With equally fast replicas this never waits, so the gateway stays work-conserving.
 */
export function worthWaitingForFaster(chosen: Candidate, all: readonly Candidate[], queued: number): boolean {
  const faster = all.filter((c) => c !== chosen && serviceRate(c) > serviceRate(chosen) * 1.25)
  if (faster.length === 0) return false
  const load = faster.reduce((sum, c) => sum + c.load, 0)
  const rate = faster.reduce((sum, c) => sum + serviceRate(c), 0)
  return (load + queued) / rate < chosen.latencyMs
}
