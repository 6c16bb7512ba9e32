import { createRandom } from '../../common/random.ts'
import type { StandbySetting } from '../../gateway/src/autoscale/standby-count.ts'
import { gatewayConfigSpec } from '../../gateway/src/config.ts'
import {
  type ControllerBounds,
  type ControllerPhases,
  customController,
  fixedController,
  HPA_SYNC_MS,
  hpaCpuController,
  kedaDesiredController,
  kedaQueueController,
  METRICS_RESOLUTION_MS,
  PROMETHEUS_SCRAPE_MS,
} from './controllers/baselines.ts'
import { clairvoyantController } from './controllers/clairvoyant.ts'
import type { ScalingController } from './controllers/cluster-state.ts'
import type { ServiceTimeModel } from './service-time.ts'
import { type CpuModel, type SimulationResult, type StandbyModel, type StartupModel, simulate } from './simulation.ts'

export const POLICY_NAMES = ['custom', 'hpa-70', 'hpa-90', 'keda', 'keda-queue', 'fixed'] as const
/** Also selectable, not run by default: the HPA's other targets and the clairvoyant reference (the frontier). */
export const FRONTIER_POLICY_NAMES = [
  'hpa-20',
  'hpa-30',
  'hpa-40',
  'hpa-50',
  'hpa-60',
  'hpa-80',
  'clairvoyant',
] as const
export const SELECTABLE_POLICY_NAMES = [...POLICY_NAMES, ...FRONTIER_POLICY_NAMES] as const
export type PolicyName = (typeof SELECTABLE_POLICY_NAMES)[number]

/** The client's deadline in every comparison: requests still queued after it are lost. */
export const CLIENT_TIMEOUT_MS = 10_000
/** A fixed count is right-sized when at most this share of requests misses the SLO (p99 within it). */
export const RIGHT_SIZED_BUDGET = 0.01

export interface Scenario {
  workload: readonly number[]
  serviceTime: ServiceTimeModel
  contention?: readonly number[]
  startup: StartupModel
  cpu: CpuModel
  sloMs: number
  seed: number
  /** Replicas of the `fixed` baseline (default: right-sized by search on this scenario). */
  fixedReplicas?: number
  /** Upper bound for the autoscaling policies (default: four times what the peak needs). */
  maxReplicas?: number
  policies?: readonly PolicyName[]
  /**
   * Brownout for the custom policy: a fallback taking `serviceRatio` × the service time answers what the model would
   * not in time (the baselines run as Kubernetes would run them, without it).
   */
  brownout?: { serviceRatio: number }
  /** The custom policy's warm standbys (the gateway's STANDBY; default off: the commands set their own default). */
  standby?: StandbySetting
  /** What a promotion takes and a standby requests (default: DEFAULT_STANDBY_MODEL). */
  standbyModel?: StandbyModel
  /** The custom policy may scale to zero (MIN_REPLICAS=0): requests wait while it wakes instead of being refused. */
  scaleToZero?: boolean
  /** The workload's first seconds run unmeasured, so every policy starts the measured part from its own steady state. */
  warmupS?: number
}

/** A 1-core replica that does nothing but serve: the model behind `npm run simulate`'s defaults. */
export const WHOLE_CORE: CpuModel = { limitCores: 1, idleCores: 0.01, busyCores: 1, bootCores: 1 }

const numberDefault = (setting: { flag: string; default: unknown }): number => {
  if (typeof setting.default !== 'number') throw new Error(`--${setting.flag} has no numeric default`)
  return setting.default
}

/** The gateway's defaults for its autoscaler (read from its config spec), so the simulation judges what users run. */
export const CUSTOM_DEFAULTS = {
  targetUtilization: numberDefault(gatewayConfigSpec.targetUtilization),
  panicThreshold: numberDefault(gatewayConfigSpec.panicThreshold),
  shortWindowS: numberDefault(gatewayConfigSpec.shortWindowS),
  burstNoiseZ: numberDefault(gatewayConfigSpec.burstNoiseZ),
  waitTailShare: numberDefault(gatewayConfigSpec.waitTailShare),
  trendGain: numberDefault(gatewayConfigSpec.trendGain),
  trendWindowS: numberDefault(gatewayConfigSpec.trendWindowS),
  longWindowS: numberDefault(gatewayConfigSpec.longWindowS),
  scaleDownStabilizationS: numberDefault(gatewayConfigSpec.scaleDownStabilizationS),
  scaleDownStartups: numberDefault(gatewayConfigSpec.scaleDownStartups),
  minStandbys: numberDefault(gatewayConfigSpec.minStandbys),
  maxStandbys: numberDefault(gatewayConfigSpec.maxStandbys),
  standbyHorizonS: numberDefault(gatewayConfigSpec.standbyHorizonS),
}

export { DEFAULT_STANDBY_MODEL } from './simulation.ts'

/**
 * `npm run simulate`'s and `npm run experiment`'s default for custom's standbys: `auto`, as k8s/overlays/custom ships
 * it (the gateway binary's own default is off, since standbys need that overlay's Service selector), and as measured
 * better (README). A Scenario without `standby` has none (tuning and the frontier sweep custom without them).
 */
export const DEFAULT_STANDBY: StandbySetting = 'auto'

/** The HPA sync, metrics-server scrape and Prometheus scrape phases of one seed: whole seconds within each period. */
export function controllerPhases(seed: number): ControllerPhases {
  const random = createRandom(seed ^ 0x2545f491)
  const within = (periodMs: number) => Math.floor(random() * (periodMs / 1000)) * 1000
  return {
    hpaSyncMs: within(HPA_SYNC_MS),
    metricsScrapeMs: within(METRICS_RESOLUTION_MS),
    prometheusScrapeMs: within(PROMETHEUS_SCRAPE_MS),
  }
}

export function bounds(scenario: Scenario): ControllerBounds {
  const serviceS = scenario.serviceTime.mean_ms / 1000
  const peak = Math.max(...scenario.workload)
  return { minReplicas: 1, maxReplicas: scenario.maxReplicas ?? Math.max(4, Math.ceil((4 * peak * serviceS) / 0.5)) }
}

/** Mean start-up from a decision to a ready pod: what the custom policy is configured with (--replica-startup-s). */
export function configuredStartupS(startup: StartupModel): number {
  const boots = startup.bootMs
  const boot = boots.length === 0 ? 0 : boots.reduce((a, b) => a + b, 0) / boots.length
  return (startup.provisioningMs + boot) / 1000
}

/** Every policy of the comparison, with the same bounds: at least one replica, at most what the peak could use. */
export function makeController(name: PolicyName, scenario: Scenario, fixedReplicas = 1): ScalingController {
  const b = bounds(scenario)
  const phases = controllerPhases(scenario.seed)
  switch (name) {
    case 'custom':
      return customController(scenario.scaleToZero ? { ...b, minReplicas: 0 } : b)
    case 'hpa-20':
    case 'hpa-30':
    case 'hpa-40':
    case 'hpa-50':
    case 'hpa-60':
    case 'hpa-70':
    case 'hpa-80':
    case 'hpa-90':
      return hpaCpuController(Number(name.slice('hpa-'.length)) / 100, scenario.cpu.limitCores, b, phases)
    case 'keda':
      return kedaDesiredController(b, phases)
    case 'keda-queue':
      return kedaQueueController(2, b, phases)
    case 'fixed':
      return fixedController(fixedReplicas)
    case 'clairvoyant':
      return clairvoyantFor(scenario)
  }
}

/** The gateway's autoscaler settings a run may change (for tuning and sweeps); the rest are its defaults. */
export type CustomSettings = Partial<typeof CUSTOM_DEFAULTS>

/** The clairvoyant reference on this scenario: each pod ordered one (longest) start-up ahead of its need. */
export function clairvoyantFor(scenario: Scenario, utilisation = 0.8): ScalingController {
  return clairvoyantController({
    workload: scenario.workload,
    serviceMs: scenario.serviceTime.mean_ms,
    contention: scenario.contention,
    leadMs: scenario.startup.provisioningMs + Math.max(0, ...scenario.startup.bootMs),
    utilisation,
    bounds: bounds(scenario),
  })
}

/**
 * One controller on the scenario's arrivals (the same for every controller of a seed). `custom` changes the
 * gateway's autoscaler settings, which is the custom policy itself and the gauge KEDA reads.
 */
export function simulateController(
  controller: ScalingController,
  scenario: Scenario,
  custom: CustomSettings = {},
): SimulationResult {
  // Scale to zero and brownout are the custom policy's; baselines run as Kubernetes would run them.
  const isCustom = controller.name === 'custom'
  const zero = scenario.scaleToZero === true && isCustom
  const b = { ...bounds(scenario), ...(zero ? { minReplicas: 0 } : {}) }
  return simulate({
    workload: scenario.workload,
    serviceTime: scenario.serviceTime,
    contention: scenario.contention,
    controller,
    startup: scenario.startup,
    cpu: scenario.cpu,
    signal: {
      ...CUSTOM_DEFAULTS,
      ...custom,
      ...b,
      drainTimeS: scenario.sloMs / 1000,
      startupS: configuredStartupS(scenario.startup),
      slotsPerReplica: 1,
      standby: scenario.standby ?? 'off',
    },
    standby: scenario.standbyModel,
    scaleToZero: zero,
    slotsPerReplica: 1,
    sloMs: scenario.sloMs,
    timeoutMs: CLIENT_TIMEOUT_MS,
    admissionBudgetMs: scenario.sloMs,
    queueMax: 100_000,
    seed: scenario.seed,
    warmupS: scenario.warmupS ?? 0,
    ...(isCustom && scenario.brownout && { brownout: scenario.brownout }),
  })
}

/** The smallest fixed count whose share over the SLO is within `budget` on every one of `seeds`. */
export function rightSizedFixed(
  scenario: Scenario,
  seeds: readonly number[] = [scenario.seed],
  budget = RIGHT_SIZED_BUDGET,
) {
  const most = bounds(scenario).maxReplicas
  for (let n = 1; n < most; n++) {
    const ok = seeds.every((seed) => simulateController(fixedController(n), { ...scenario, seed }).slowShare <= budget)
    if (ok) return n
  }
  return most
}

/** Runs every policy on the same arrivals (same seed) and returns the results in order. */
export function comparePolicies(scenario: Scenario): SimulationResult[] {
  return (scenario.policies ?? POLICY_NAMES).map((name) => {
    const fixed = name === 'fixed' ? (scenario.fixedReplicas ?? rightSizedFixed(scenario)) : 1
    return simulateController(makeController(name, scenario, fixed), scenario)
  })
}

/** A figure over seeds (or repeats): its mean and its range. */
export interface Spread {
  mean: number
  min: number
  max: number
}

export const spread = (values: readonly number[]): Spread => ({
  mean: values.reduce((a, b) => a + b, 0) / values.length,
  min: Math.min(...values),
  max: Math.max(...values),
})

export interface SeedSummary {
  policy: string
  seeds: number
  slowShare: Spread
  replicaSeconds: Spread
  /** Core-seconds requested (standbys at their small request); absent where not measured. */
  requestedCoreSeconds?: Spread
  /** Core-seconds that must be free on the nodes (every pod at its limit). */
  nodeCoreSeconds?: Spread
  p99Ms: number
  /** Share of requests answered by the fallback (brownout); 0 without one. */
  degradedShare: Spread
}

/** Per policy (in order), the mean over seeds of each figure, with the range of violations and replica-seconds. */
export function summarizeSeeds(perSeed: readonly (readonly SimulationResult[])[]): SeedSummary[] {
  return (perSeed[0] ?? []).map((first, i) => {
    const runs = perSeed.map((results) => results[i]!)
    return {
      policy: first.policy,
      seeds: runs.length,
      slowShare: spread(runs.map((r) => r.slowShare)),
      replicaSeconds: spread(runs.map((r) => r.replicaSeconds)),
      ...(runs.every((r) => r.requestedCoreSeconds !== undefined)
        ? {
            requestedCoreSeconds: spread(runs.map((r) => r.requestedCoreSeconds)),
            nodeCoreSeconds: spread(runs.map((r) => r.nodeCoreSeconds)),
          }
        : {}),
      p99Ms: spread(runs.map((r) => r.p99Ms)).mean,
      degradedShare: spread(runs.map((r) => (r.requests === 0 ? 0 : r.degraded / r.requests))),
    }
  })
}

/** Violations and replica-seconds of one run (or their means). */
export interface Outcome {
  slowShare: number
  replicaSeconds: number
}

export interface TargetVerdict {
  met: boolean
  slowRatio: number
  costRatio: number
}

/** The project's target: custom has ≤ 1/10 of HPA-70's slow share, with no more replica-seconds. */
export function targetAgainstHpa(custom: Outcome, hpa: Outcome): TargetVerdict {
  const slowRatio =
    hpa.slowShare === 0 ? (custom.slowShare === 0 ? 0 : Number.POSITIVE_INFINITY) : custom.slowShare / hpa.slowShare
  const costRatio = custom.replicaSeconds / hpa.replicaSeconds
  return { met: slowRatio <= 0.1 && costRatio <= 1, slowRatio, costRatio }
}

/** The target on a comparison's results: its `custom` against its `hpa-70`. */
export function meetsTarget(results: readonly (Outcome & { policy: string })[]): TargetVerdict {
  const custom = results.find((r) => r.policy === 'custom')
  const hpa = results.find((r) => r.policy === 'hpa-70')
  if (!custom || !hpa) return { met: false, slowRatio: Number.NaN, costRatio: Number.NaN }
  return targetAgainstHpa(custom, hpa)
}

/** The means of figures over seeds, as one outcome. */
export const meansOf = (figures: { slowShare: Spread; replicaSeconds: Spread }): Outcome => ({
  slowShare: figures.slowShare.mean,
  replicaSeconds: figures.replicaSeconds.mean,
})

/** A controller on each of `seeds` (made per seed: its phases are), each figure as mean and range. */
export function acrossSeeds(
  scenario: Scenario,
  seeds: readonly number[],
  make: (seeded: Scenario) => ScalingController,
  custom: CustomSettings = {},
): { slowShare: Spread; replicaSeconds: Spread; requestedCoreSeconds: Spread; nodeCoreSeconds: Spread } {
  const runs = seeds.map((seed) => {
    const seeded = { ...scenario, seed }
    return simulateController(make(seeded), seeded, custom)
  })
  return {
    slowShare: spread(runs.map((r) => r.slowShare)),
    replicaSeconds: spread(runs.map((r) => r.replicaSeconds)),
    requestedCoreSeconds: spread(runs.map((r) => r.requestedCoreSeconds)),
    nodeCoreSeconds: spread(runs.map((r) => r.nodeCoreSeconds)),
  }
}

/**
 * The simulator commands' scenario: whole-core replicas (WHOLE_CORE) that are ready `startupMs` after they are asked
 * for, on `workload`.
 */
export function wholeCoreScenario(
  workload: readonly number[],
  serviceTime: ServiceTimeModel,
  startupMs: number,
  sloMs: number,
): Scenario {
  return {
    workload,
    serviceTime,
    startup: { provisioningMs: 0, bootMs: [startupMs] },
    cpu: WHOLE_CORE,
    sloMs,
    seed: 1,
  }
}
