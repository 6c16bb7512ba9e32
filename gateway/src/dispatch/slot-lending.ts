/**
 * Slots lent to every routable replica on top of its own while the gateway's queue is deep. With its own two slots
 * a replica runs batch 1 (one image in the model, the next being preprocessed); holding more, its micro-batcher
 * runs what arrives during a batch as the next batch, up to its largest. Late binding is kept while the queue is
 * short: no more jobs waiting than routable replicas lends nothing, since a freed slot takes the head at once. Past
 * that, each replica may hold one more job per further `replicas` jobs waiting, up to `slotsWhenQueued` in all, so
 * the extra jobs bound early never exceed what is waiting (the queue drains into slots, never empties into one
 * replica), and lending shrinks again as the queue does. `slotsWhenQueued` ≤ `slots` turns it off.
 */
export function slotsToLend(queued: number, replicas: number, slots: number, slotsWhenQueued: number): number {
  if (slotsWhenQueued <= slots || replicas <= 0 || queued <= replicas) return 0
  return Math.min(slotsWhenQueued - slots, Math.floor(queued / replicas) - 1)
}
