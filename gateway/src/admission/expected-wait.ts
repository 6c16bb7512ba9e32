import type { Candidate } from '../balancing/candidate.ts'

/** A replica as admission sees it: how many requests it takes at once, how long one takes, how many it holds now. */
export type ServiceRate = Pick<Candidate, 'slots' | 'latencyMs' | 'load'>

/**
 * How long a request joining the queue behind `queued` others would wait before it is sent, or undefined when
 * nothing is known yet. It is sent at once while a slot is free; otherwise it waits for the jobs ahead of it beyond
 * the free slots, plus one more, to complete. The pace is the faster of two estimates: the routable replicas'
 * Σ slots / latency (latency is a peak EWMA, so this one is pessimistic after a slow answer) and the completions per
 * second actually measured (exact while the queue is busy, too low when it is idle). Used to refuse at once a
 * request that cannot be served before its deadline, instead of accepting it and answering 504 later.
 */
export function expectedQueueWaitMs(
  queued: number,
  replicas: readonly ServiceRate[],
  measuredPerSecond = 0,
): number | undefined {
  let perMs = 0
  let free = 0
  for (const replica of replicas) {
    if (replica.latencyMs > 0) perMs += replica.slots / replica.latencyMs
    free += Math.max(0, replica.slots - replica.load)
  }
  perMs = Math.max(perMs, measuredPerSecond / 1000)
  if (perMs === 0) return undefined
  if (queued < free) return 0
  return (queued - free + 1) / perMs
}

/** The wait above, and the answer time: that wait plus the fastest replica's own latency (the earliest it could come). */
export function expectedAnswer(
  queued: number,
  replicas: readonly ServiceRate[],
  measuredPerSecond = 0,
): { queueWaitMs: number; answerMs: number } | undefined {
  const queueWaitMs = expectedQueueWaitMs(queued, replicas, measuredPerSecond)
  if (queueWaitMs === undefined) return undefined
  const fastest = Math.min(...replicas.map((r) => (r.latencyMs > 0 ? r.latencyMs : Number.POSITIVE_INFINITY)))
  return { queueWaitMs, answerMs: queueWaitMs + (Number.isFinite(fastest) ? fastest : 0) }
}
