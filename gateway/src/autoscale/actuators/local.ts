import type { LocalReplicas } from '../../discovery/local.ts'
import type { ReplicaPool } from '../../pool/replica-pool.ts'
import type { Actuator } from '../autoscaler.ts'

/**
 * Scales the gateway's own replica processes. New ones count as capacity only once their readiness probe passes
 * (the pool does that); one that goes away first leaves the target list, its in-flight requests finish, then it
 * gets SIGTERM — so scaling down loses no request.
 */
export function localActuator(local: LocalReplicas, pool: ReplicaPool): Actuator {
  return {
    name: 'local',
    apply: (replicas) => local.scaleTo(replicas, (url) => pool.whenDrained(url)),
  }
}
