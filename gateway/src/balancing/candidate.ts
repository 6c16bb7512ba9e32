/**
 * A routable replica as every load-aware decision sees it — the routing policies, late binding's "is it free?" and
 * "worth waiting for a faster one?", and admission's expected wait — so that they all judge one and the same load.
 * Plain data, built by the pool (`ReplicaPool.candidates`), so the policies over it are pure and testable without
 * sockets.
 */
export interface Candidate {
  id: string
  /**
   * The replica's whole load: requests in flight there from every gateway, ours included, as far as we know — our
   * own count, or what the replica last reported while that report counts, whichever is more (`loadSeen`).
   */
  load: number
  /** How many requests the replica may hold at once: its concurrency, plus any slots lent under a deep queue. */
  slots: number
  /** Peak-EWMA of upstream latency in ms: jumps up at once on a slow answer, decays slowly. */
  latencyMs: number
  /** A new request would start at once: its load leaves one of its slots. */
  free: boolean
}

export function candidate(id: string, load: number, slots: number, latencyMs: number): Candidate {
  return { id, load, slots, latencyMs, free: load < slots }
}
