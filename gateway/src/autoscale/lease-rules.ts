/**
 * Who may write the replica Deployment's scale when several gateways run: the holder of a coordination.k8s.io/v1
 * Lease, with client-go's leader-election semantics (tryAcquireOrRenew). Pure: the lease as read, what this gateway
 * has observed of it and when (its own clock), and the time in; what to write out. The I/O is in lease-elector.ts.
 *
 * Expiry is judged on the observer's clock, never by comparing the holder's renewTime with ours: a record that has
 * not changed for leaseDurationSeconds since we first saw it is expired, whatever clock skew the nodes have.
 */

/** The fields of a Lease's spec that leader election uses (MicroTime strings as the API server returns them). */
export interface LeaseSpec {
  holderIdentity?: string
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

/** A record as this gateway saw it, and since when (ms, local clock) it has looked exactly like this. */
export interface LeaseObservation {
  spec: LeaseSpec
  since: number
}

export type ElectionStep =
  /** Write this spec (create the Lease when there was none, else update it at the resourceVersion read). */
  | { action: 'acquire' | 'renew'; spec: LeaseSpec }
  /** Someone else holds a live lease: do not write anything. */
  | { action: 'follow'; holder: string }

/** Same record as before: keep when it was first seen; a changed one (a renewal, a new holder) restarts the clock. */
export function observe(previous: LeaseObservation | undefined, spec: LeaseSpec, now: number): LeaseObservation {
  return previous && sameRecord(previous.spec, spec) ? previous : { spec, since: now }
}

function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  )
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/**
 * One round of election for `identity` at `now` (local clock, ms). `observation` is undefined when there is no
 * Lease yet. Holding it: renew (acquireTime and transitions kept). Someone else's, still live by our observation:
 * follow. Empty (released) or expired: take it over, one more transition.
 */
export function electionStep(
  observation: LeaseObservation | undefined,
  identity: string,
  now: number,
  leaseDurationS: number,
): ElectionStep {
  const stamp = microTime(now)
  const acquire = (leaseTransitions: number): ElectionStep => ({
    action: 'acquire',
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: leaseDurationS,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions,
    },
  })
  if (!observation) return acquire(0)
  const { spec } = observation
  const holder = spec.holderIdentity ?? ''
  if (holder === identity)
    return {
      action: 'renew',
      spec: { ...spec, leaseDurationSeconds: leaseDurationS, renewTime: stamp, acquireTime: spec.acquireTime ?? stamp },
    }
  if (holder !== '' && !expired(observation, now)) return { action: 'follow', holder }
  // A released lease was last held by someone (client-go counts a change of holder, not a release).
  return acquire((spec.leaseTransitions ?? 0) + 1)
}

/** A lease unchanged for its whole duration since we first saw it (a missing duration counts as expired at once). */
export function expired(observation: LeaseObservation, now: number): boolean {
  return now >= observation.since + (observation.spec.leaseDurationSeconds ?? 0) * 1000
}

/**
 * Whether this gateway may act as the leader at `now`: it wrote its lease at `lastRenewAt` (the time it *sent*
 * the write, so never later than any follower's observation of it) and that is less than `renewDeadlineS` ago.
 * With renewDeadline < leaseDuration, a leader that cannot renew stops acting before anyone else may take over:
 * at no instant do two gateways both believe they lead.
 */
export function isLeading(lastRenewAt: number | undefined, now: number, renewDeadlineS: number): boolean {
  return lastRenewAt !== undefined && now < lastRenewAt + renewDeadlineS * 1000
}

/** What a leader writes when it steps down (client-go's ReleaseOnCancel): no holder, so a follower takes over at once. */
export function released(spec: LeaseSpec, now: number): LeaseSpec {
  const stamp = microTime(now)
  return { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: stamp, acquireTime: stamp }
}
