import {
  customPolicy,
  fixedPolicy,
  HPA_DEFAULTS,
  hpaCpuPolicy,
  kedaQueuePolicy,
  type SimulatedPolicy,
} from './policies.ts'
import type { ServiceTimeModel } from './service-time.ts'
import { type SimulationResult, simulate } from './simulation.ts'

export const POLICY_NAMES = ['custom', 'hpa-70', 'hpa-90', 'keda-queue', 'fixed'] as const
export type PolicyName = (typeof POLICY_NAMES)[number]

export interface Scenario {
  workload: readonly number[]
  serviceTime: ServiceTimeModel
  startupDelayMs: number
  sloMs: number
  seed: number
  /** Replicas of the `fixed` baseline (default: enough for the peak at 80 % utilisation). */
  fixedReplicas?: number
  /** Upper bound for the autoscaling policies (default: four times what the peak needs). */
  maxReplicas?: number
  policies?: readonly PolicyName[]
}

/** The gateway's defaults for the custom policy, so the simulation judges what users run. */
export const CUSTOM_DEFAULTS = {
  targetUtilization: 0.7,
  panicThreshold: 2,
  shortWindowS: 3,
  longWindowS: 60,
  scaleDownStabilizationS: 60,
}

/** Every policy of the comparison, with the same bounds: at least one replica, at most what the peak could use. */
export function makePolicy(name: PolicyName, scenario: Scenario): SimulatedPolicy {
  const serviceS = scenario.serviceTime.mean_ms / 1000
  const peak = Math.max(...scenario.workload)
  const bounds = {
    minReplicas: 1,
    maxReplicas: scenario.maxReplicas ?? Math.max(4, Math.ceil((4 * peak * serviceS) / 0.5)),
  }
  switch (name) {
    case 'custom':
      return customPolicy(
        {
          ...CUSTOM_DEFAULTS,
          ...bounds,
          drainTimeS: scenario.sloMs / 1000,
          startupS: scenario.startupDelayMs / 1000,
          slotsPerReplica: 1,
        },
        serviceS,
        1,
      )
    case 'hpa-70':
      return hpaCpuPolicy(0.7, { ...HPA_DEFAULTS, ...bounds })
    case 'hpa-90':
      return hpaCpuPolicy(0.9, { ...HPA_DEFAULTS, ...bounds })
    case 'keda-queue':
      return kedaQueuePolicy(2, { ...HPA_DEFAULTS, ...bounds })
    case 'fixed':
      return fixedPolicy(scenario.fixedReplicas ?? Math.max(1, Math.ceil((peak * serviceS) / 0.8)))
  }
}

/** Runs every policy on the same arrivals (same seed) and returns the results in order. */
export function comparePolicies(scenario: Scenario): SimulationResult[] {
  return (scenario.policies ?? POLICY_NAMES).map((name) => {
    const policy = makePolicy(name, scenario)
    return simulate({
      workload: scenario.workload,
      serviceTime: scenario.serviceTime,
      policy,
      initialReplicas: policy.initialReplicas ?? 1,
      startupDelayMs: scenario.startupDelayMs,
      slotsPerReplica: 1,
      sloMs: scenario.sloMs,
      timeoutMs: 10_000,
      queueMax: 100_000,
      seed: scenario.seed,
    })
  })
}

/** The issue's target: custom has ≤ 1/10 of HPA-70's slow share, with no more replica-seconds. */
export function meetsTarget(results: readonly SimulationResult[]): {
  met: boolean
  slowRatio: number
  costRatio: number
} {
  const custom = results.find((r) => r.policy === 'custom')
  const hpa = results.find((r) => r.policy === 'hpa-70')
  if (!custom || !hpa) return { met: false, slowRatio: Number.NaN, costRatio: Number.NaN }
  const slowRatio =
    hpa.slowShare === 0 ? (custom.slowShare === 0 ? 0 : Number.POSITIVE_INFINITY) : custom.slowShare / hpa.slowShare
  const costRatio = custom.replicaSeconds / hpa.replicaSeconds
  return { met: slowRatio <= 0.1 && costRatio <= 1, slowRatio, costRatio }
}
