import { Autoscaler, type AutoscalerOptions } from '../../gateway/src/autoscale/autoscaler.ts'
import { type Recommendation, stabilize } from '../../gateway/src/autoscale/desired-replicas.ts'

/** What a scaling policy can see of the simulated cluster at a decision. */
export interface ClusterObservation {
  now: number
  /** Replicas asked for: starting plus ready. */
  replicas: number
  ready: number
  queue: number
  inFlight: number
  /** CPU utilisation of the ready replicas over the last `windowMs`: busy time over ready time (1 core each). */
  utilization(windowMs: number): number
}

export interface SimulatedPolicy {
  readonly name: string
  /** How often it decides (the HPA's sync period, the gateway's tick). */
  readonly intervalMs: number
  /** Replicas running at the start (default: one). */
  readonly initialReplicas?: number
  onArrival?(now: number): void
  onServiceTime?(ms: number): void
  /** The replica count it wants now. */
  decide(observation: ClusterObservation): number
}

export interface Bounds {
  minReplicas: number
  maxReplicas: number
}

/** A fixed number of replicas: the capacity-planning baseline. */
export function fixedPolicy(replicas: number): SimulatedPolicy {
  return { name: `fixed-${replicas}`, intervalMs: 60_000, initialReplicas: replicas, decide: () => replicas }
}

/**
 * Switchyard's own policy, run by the very `Autoscaler` class the gateway runs, on simulated time: it meters
 * arrivals and service times the same way and ticks every second.
 */
export function customPolicy(
  options: Omit<AutoscalerOptions, 'initialServiceTimeS'>,
  initialServiceTimeS: number,
  initialReplicas: number,
): SimulatedPolicy {
  let latest = { backlog: 0, readyReplicas: initialReplicas }
  const autoscaler = new Autoscaler({ ...options, initialServiceTimeS }, undefined, () => latest, 0, initialReplicas)
  return {
    name: 'custom',
    intervalMs: 1000,
    onArrival: (now) => autoscaler.recordArrival(now),
    onServiceTime: (ms) => autoscaler.recordServiceTime(ms),
    decide(observation) {
      latest = { backlog: observation.queue, readyReplicas: observation.ready }
      return autoscaler.tick(observation.now).desired
    },
  }
}

export interface HpaBehaviour extends Bounds {
  syncMs: number
  /** No change while the usage ratio is within 1 ± tolerance. */
  tolerance: number
  scaleDownStabilizationMs: number
}

export const HPA_DEFAULTS: Omit<HpaBehaviour, keyof Bounds> = {
  syncMs: 15_000,
  tolerance: 0.1,
  scaleDownStabilizationMs: 300_000,
}

/**
 * The Kubernetes HPA's algorithm (v2, default behaviour): every sync period, desired = ceil(ready × usage / target)
 * — pods that are not ready count as idle when scaling up, so they are left out — no change within the 10 %
 * tolerance, scale-up at most max(4 pods, 100 %) per period, scale-down to the highest recommendation of the last
 * 300 s.
 */
function hpa(name: string, usageRatio: (o: ClusterObservation) => number, behaviour: HpaBehaviour): SimulatedPolicy {
  let history: Recommendation[] = []
  return {
    name,
    intervalMs: behaviour.syncMs,
    decide(o) {
      const ratio = usageRatio(o)
      let recommended = o.replicas
      if (Math.abs(ratio - 1) > behaviour.tolerance) recommended = Math.ceil(Math.max(o.ready, 1) * ratio)
      recommended = Math.min(recommended, Math.max(o.replicas + 4, 2 * o.replicas))
      recommended = Math.min(behaviour.maxReplicas, Math.max(behaviour.minReplicas, recommended))
      const stable = stabilize(history, { at: o.now, replicas: recommended }, behaviour.scaleDownStabilizationMs)
      history = stable.history
      // Scale-down stabilisation only: going up takes the new recommendation at once.
      return recommended > o.replicas ? recommended : Math.min(o.replicas, stable.replicas)
    },
  }
}

/** HPA on CPU utilisation at `target` (0.7 = the seed experiment's HPA-70). */
export function hpaCpuPolicy(target: number, behaviour: HpaBehaviour): SimulatedPolicy {
  return hpa(`hpa-${Math.round(target * 100)}`, (o) => o.utilization(behaviour.syncMs) / target, behaviour)
}

/**
 * KEDA scaling on the queue: an HPA on an external metric, requests in the system (queued + in flight), with an
 * AverageValue target per replica; KEDA polls it, the HPA acts on its sync period.
 */
export function kedaQueuePolicy(perReplica: number, behaviour: HpaBehaviour): SimulatedPolicy {
  return hpa(`keda-queue-${perReplica}`, (o) => (o.queue + o.inFlight) / (perReplica * Math.max(o.ready, 1)), behaviour)
}
