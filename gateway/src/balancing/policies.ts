import type { Random } from '../../../common/random.ts'
import type { Candidate } from './candidate.ts'

export interface RoutingState {
  random: Random
  /** Round-robin position; policies that use it advance it. */
  cursor: number
}

export type PickReplica = (candidates: readonly Candidate[], state: RoutingState) => Candidate | undefined

export interface RoutingPolicy {
  pick: PickReplica
  /**
   * Load-aware policies bind late: a job waits at the gateway until the replica it should go to has a free slot.
   * Load-oblivious ones (the baselines) send at once, as a plain reverse proxy does, and requests queue at replicas.
   */
  loadAware: boolean
}

/** Above this many candidates, least-outstanding samples two at random instead of scanning all. */
const FULL_SCAN_LIMIT = 8

/**
 * Least outstanding relative to slots, weighed by peak-EWMA latency: the expected time until a new request would
 * finish here is roughly (load + 1) / slots × latency. Replicas with a free slot always win over full ones; among
 * equals the choice is random so load spreads evenly. Large pools use power-of-two-choices, as Envoy and Finagle do.
 */
export function pickLeastOutstanding(candidates: readonly Candidate[], state: RoutingState): Candidate | undefined {
  if (candidates.length === 0) return undefined
  // Runs for every request: the pool is scanned in place (no filtered copies) unless it is large.
  const anyFree = candidates.some((c) => c.free)
  const inPool = (c: Candidate) => !anyFree || c.free
  if (candidates.length > FULL_SCAN_LIMIT) {
    const pool = anyFree ? candidates.filter((c) => c.free) : candidates
    if (pool.length > FULL_SCAN_LIMIT) {
      const a = pool[Math.floor(state.random() * pool.length)]!
      let b = pool[Math.floor(state.random() * (pool.length - 1))]!
      if (b === a) b = pool[pool.length - 1]!
      return expectedCost(b) < expectedCost(a) ? b : a
    }
  }
  let bestCost = Number.POSITIVE_INFINITY
  let ties = 0
  for (const candidate of candidates) {
    if (!inPool(candidate)) continue
    const cost = expectedCost(candidate)
    if (cost < bestCost) {
      bestCost = cost
      ties = 1
    } else if (cost === bestCost) {
      ties++
    }
  }
  // One draw among the cheapest, in candidate order.
  let pick = Math.floor(state.random() * ties)
  for (const candidate of candidates) {
    if (inPool(candidate) && expectedCost(candidate) === bestCost && pick-- === 0) return candidate
  }
  return undefined
}

export function expectedCost(c: Candidate): number {
  return ((c.load + 1) / c.slots) * Math.max(c.latencyMs, 1)
}

/** Plain rotation in a stable order, blind to load (nginx's default): a baseline. */
export function pickRoundRobin(candidates: readonly Candidate[], state: RoutingState): Candidate | undefined {
  if (candidates.length === 0) return undefined
  const ordered = [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const at = ((state.cursor % ordered.length) + ordered.length) % ordered.length
  state.cursor = (at + 1) % ordered.length
  return ordered[at]
}

/** Uniformly random, blind to load: a baseline. */
export function pickRandom(candidates: readonly Candidate[], state: RoutingState): Candidate | undefined {
  return candidates[Math.floor(state.random() * candidates.length)]
}

/** Every policy ROUTING can name: the setting's choices are read from here. */
export const ROUTING_POLICIES = {
  'least-outstanding': { pick: pickLeastOutstanding, loadAware: true },
  'round-robin': { pick: pickRoundRobin, loadAware: false },
  random: { pick: pickRandom, loadAware: false },
} as const satisfies Record<string, RoutingPolicy>

export type RoutingPolicyName = keyof typeof ROUTING_POLICIES
export const ROUTING_POLICY_NAMES = Object.keys(ROUTING_POLICIES) as RoutingPolicyName[]
