import type { StartupBreakdown } from './startup-timing.ts'

/** What the replica's routes share about the process: written by the routes and the lifecycle, read by probes. */
export interface ReplicaState {
  /** A warm-up inference has completed. */
  warm: boolean
  /** SIGTERM received: finish what is in flight, admit nothing new. */
  draining: boolean
  /** Prediction requests admitted and not yet answered. */
  inflight: number
  /** Requests of any kind whose headers arrived before draining began, not yet answered: shutdown waits for them. */
  arrivedBeforeDrain: number
  /** Where the start-up went, once ready. */
  startup?: StartupBreakdown
  /** When /readyz first answered 200 (performance.now(): ms since the process started). */
  firstReadyAnswerMs?: number
}

export function initialReplicaState(): ReplicaState {
  return { warm: false, draining: false, inflight: 0, arrivedBeforeDrain: 0 }
}
