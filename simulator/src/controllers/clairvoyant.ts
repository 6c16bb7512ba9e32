import type { ControllerBounds } from './baselines.ts'
import type { ScalingController } from './cluster-state.ts'

export interface ClairvoyantOptions {
  /** The arrival rate of every second of the run (the workload file itself: what no real policy can know). */
  workload: readonly number[]
  /** Mean service time of one request on one replica alone, ms. */
  serviceMs: number
  /** Service-time factor with k replicas busy at once, index k − 1 (the last one holds beyond). */
  contention?: readonly number[]
  /** The longest a pod takes from the order to ready, ms: each pod is ordered that far ahead. */
  leadMs: number
  /** Busy share each replica is sized for. */
  utilisation: number
  bounds: ControllerBounds
}

/** Replicas whose utilisation serving `rate` req/s stays within `utilisation`, contention included. */
export function replicasNeeded(rate: number, options: ClairvoyantOptions): number {
  const { minReplicas, maxReplicas } = options.bounds
  const contention = options.contention ?? [1]
  for (let n = Math.max(1, minReplicas); n < maxReplicas; n++) {
    const factor = contention[Math.min(n, contention.length) - 1] ?? 1
    if ((rate * options.serviceMs * factor) / 1000 / n <= options.utilisation) return n
  }
  return maxReplicas
}

/**
 * The clairvoyant reference: it knows the rate of every future second and the longest start-up, so each pod is
 * ordered one start-up before the second that needs it, and a pod is deleted only when no second within the next
 * start-up needs it (an order then would come too late). No one can run it; it is the bound the real policies are
 * measured against: what right-sizing at `utilisation` costs when nothing has to be guessed.
 */
export function clairvoyantController(options: ClairvoyantOptions): ScalingController {
  const need = options.workload.map((rate) => replicasNeeded(rate, options))
  const leadS = Math.ceil(options.leadMs / 1000)
  const upTo = (second: number) => {
    let most = options.bounds.minReplicas
    for (let s = second; s <= second + leadS && s < need.length; s++) most = Math.max(most, need[s]!)
    return most
  }
  return {
    name: `clairvoyant-${Math.round(options.utilisation * 100)}`,
    initialReplicas: upTo(0),
    tick: (state) => upTo(Math.floor(state.now / 1000)),
  }
}
