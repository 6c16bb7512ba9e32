import {
  acrossSeeds,
  bounds,
  CUSTOM_DEFAULTS,
  type CustomSettings,
  clairvoyantFor,
  controllerPhases,
  DEFAULT_STANDBY,
  type Outcome,
  rightSizedFixed,
  type Scenario,
  type Spread,
} from './compare.ts'
import {
  customController,
  fixedController,
  hpaCpuController,
  kedaDesiredController,
  kedaQueueController,
} from './controllers/baselines.ts'
import type { ScalingController } from './controllers/cluster-state.ts'

/** One configuration of one policy family: a point on the cost–SLO plane. */
export interface Configuration {
  family: 'custom' | 'hpa' | 'keda' | 'keda-queue' | 'fixed' | 'clairvoyant'
  /**
   * The knob's value, as the family's own unit says (custom: k of its wait-tail share 10^−k; HPA target %, KEDA
   * threshold, N, utilisation %).
   */
  knob: number
  /** The shipped default of its family (custom's defaults, HPA 70 %, the shipped ScaledObject, right-sized N). */
  isDefault: boolean
  make: (scenario: Scenario) => ScalingController
  custom?: CustomSettings
}

export const HPA_TARGETS = [20, 30, 40, 50, 60, 70, 80, 90]
export const KEDA_THRESHOLDS = [0.5, 0.75, 1, 1.5, 2]
export const KEDA_QUEUE_PER_REPLICA = [1, 2, 3, 4, 6, 8]
/** Custom sized for a wait-tail share of 10^−k (its other settings the defaults). */
export const CUSTOM_TAIL_EXPONENTS = [1, 2, 3, 4, 5]
export const CLAIRVOYANT_UTILISATIONS = [0.6, 0.7, 0.8, 0.9]

/**
 * Every family swept over its knob on one scenario. Fixed N runs from the smallest count that could carry the
 * mean rate to two past the right-sized one (`rightSized`, found on the same seeds the points are judged on).
 */
export function sweep(scenario: Scenario, rightSized: number): Configuration[] {
  const b = bounds(scenario)
  const configurations: Configuration[] = []
  for (const k of CUSTOM_TAIL_EXPONENTS)
    configurations.push({
      family: 'custom',
      knob: k,
      isDefault: Math.abs(Math.log10(CUSTOM_DEFAULTS.waitTailShare) + k) < 1e-9,
      make: () => customController(b),
      custom: { waitTailShare: 10 ** -k },
    })
  for (const target of HPA_TARGETS)
    configurations.push({
      family: 'hpa',
      knob: target,
      isDefault: target === 70,
      make: (s) => hpaCpuController(target / 100, s.cpu.limitCores, b, controllerPhases(s.seed)),
    })
  for (const threshold of KEDA_THRESHOLDS)
    configurations.push({
      family: 'keda',
      knob: threshold,
      isDefault: threshold === 1,
      make: (s) => kedaDesiredController(b, controllerPhases(s.seed), threshold),
    })
  for (const perReplica of KEDA_QUEUE_PER_REPLICA)
    configurations.push({
      family: 'keda-queue',
      knob: perReplica,
      isDefault: perReplica === 2,
      make: (s) => kedaQueueController(perReplica, b, controllerPhases(s.seed)),
    })
  const mean = scenario.workload.reduce((a, v) => a + v, 0) / Math.max(1, scenario.workload.length)
  const least = Math.max(1, Math.ceil((mean * scenario.serviceTime.mean_ms) / 1000))
  for (let n = Math.min(least, rightSized); n <= Math.min(b.maxReplicas, rightSized + 2); n++)
    configurations.push({ family: 'fixed', knob: n, isDefault: n === rightSized, make: () => fixedController(n) })
  for (const utilisation of CLAIRVOYANT_UTILISATIONS)
    configurations.push({
      family: 'clairvoyant',
      knob: utilisation * 100,
      isDefault: utilisation === 0.8,
      make: (s) => clairvoyantFor(s, utilisation),
    })
  return configurations
}

export interface FrontierPoint {
  family: Configuration['family']
  knob: number
  isDefault: boolean
  slowShare: Spread
  replicaSeconds: Spread
  /** The cost the plane is drawn on: core-seconds requested (a waiting standby requests only its small share). */
  requestedCoreSeconds: Spread
  /** Core-seconds that must be free on the nodes for every pod at its limit (every standby resized). */
  nodeCoreSeconds: Spread
}

/** The share of requests the SLO-attainment target lets miss: 99.5 % answered 200 within the SLO. */
export const ATTAINMENT_TARGET_MISS = 0.005

/**
 * Each configuration on every seed (the same arrivals per seed for all), as mean and range. Custom runs as shipped:
 * with its warm standbys (STANDBY=auto); the baselines run as Kubernetes would run them, without.
 */
export function measureSweep(scenario: Scenario, seeds: readonly number[]): FrontierPoint[] {
  const rightSized = rightSizedFixed(scenario, seeds)
  return sweep(scenario, rightSized).map((configuration) => ({
    family: configuration.family,
    knob: configuration.knob,
    isDefault: configuration.isDefault,
    ...acrossSeeds(
      configuration.family === 'custom' ? { ...scenario, standby: DEFAULT_STANDBY } : scenario,
      seeds,
      configuration.make,
      configuration.custom,
    ),
  }))
}

/** `a` dominates `b`: fewer violations and fewer replica-seconds, both strictly. */
export const dominates = (a: Outcome, b: Outcome) => a.slowShare < b.slowShare && a.replicaSeconds < b.replicaSeconds

/** A point's violations and its requested core-seconds (the plane's cost), as one outcome to compare. */
const onPlane = (p: FrontierPoint): Outcome => ({
  slowShare: p.slowShare.mean,
  replicaSeconds: p.requestedCoreSeconds.mean,
})

/** The points of `others` (baselines: not custom, not the clairvoyant) that dominate `point`, on the means. */
export function dominatingBaselines(point: FrontierPoint, others: readonly FrontierPoint[]): FrontierPoint[] {
  return others.filter(
    (o) => o.family !== 'custom' && o.family !== 'clairvoyant' && dominates(onPlane(o), onPlane(point)),
  )
}

/**
 * Custom's requested cost relative to the cheapest clairvoyant point that meets the attainment target (misses within
 * `budget`), or custom's own attainment when that is looser; undefined if no clairvoyant point does.
 */
export function costOverClairvoyant(
  custom: FrontierPoint,
  points: readonly FrontierPoint[],
  budget = ATTAINMENT_TARGET_MISS,
): number | undefined {
  const allowed = Math.max(budget, custom.slowShare.mean)
  const within = points.filter((p) => p.family === 'clairvoyant' && p.slowShare.mean <= allowed)
  if (within.length === 0) return undefined
  const cheapest = Math.min(...within.map((p) => p.requestedCoreSeconds.mean))
  return custom.requestedCoreSeconds.mean / cheapest - 1
}
