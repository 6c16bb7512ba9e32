import { type ClusterState, isDue, type PodView, type ScalingController } from './cluster-state.ts'
import {
  applyBehaviour,
  applyLegacyNormalization,
  type Behaviour,
  type BehaviourMemory,
  cpuReplicas,
  defaultBehaviour,
  emptyMemory,
  externalAverageValueReplicas,
  type HpaPod,
} from './hpa-algorithm.ts'
import { MetricsServer } from './metrics-server.ts'

/** When each periodic loop fires within its period, ms: drawn per seed, since real clusters do not line them up. */
export interface ControllerPhases {
  hpaSyncMs: number
  metricsScrapeMs: number
  prometheusScrapeMs: number
}

export interface ControllerBounds {
  minReplicas: number
  maxReplicas: number
}

export const HPA_SYNC_MS = 15_000
export const METRICS_RESOLUTION_MS = 15_000
/** deploy/prometheus/prometheus.yml's scrape_interval. */
export const PROMETHEUS_SCRAPE_MS = 5_000

/** An HPA-driven controller: every sync it computes a recommendation, then the behaviour decides the count. */
function hpaLoop(
  name: string,
  bounds: ControllerBounds,
  phases: ControllerPhases,
  recommend: (state: ClusterState) => number | undefined,
  observe: (state: ClusterState) => void = () => {},
  /** Whether the HPA has spec.behavior (ours do; the one KEDA makes from our ScaledObject does not). */
  withBehaviour = true,
): ScalingController {
  const behaviour: Behaviour = defaultBehaviour(bounds.minReplicas, bounds.maxReplicas)
  let memory: BehaviourMemory = emptyMemory()
  return {
    name,
    initialReplicas: bounds.minReplicas,
    tick(state) {
      observe(state)
      if (!isDue(state.now, HPA_SYNC_MS, phases.hpaSyncMs)) return undefined
      const recommended = recommend(state)
      if (recommended === undefined) return undefined
      const next = withBehaviour
        ? applyBehaviour(recommended, state.specReplicas, behaviour, memory, state.now)
        : applyLegacyNormalization(recommended, state.specReplicas, bounds, memory, state.now)
      memory = next.memory
      return next.replicas
    },
  }
}

/**
 * The HPA on CPU utilisation (hpa-70, hpa-90): metrics-server rates against the pods' CPU request, the replica
 * calculator's grouping and tolerance, the default behaviour.
 */
export function hpaCpuController(
  target: number,
  requestCores: number,
  bounds: ControllerBounds,
  phases: ControllerPhases,
): ScalingController {
  const metrics = new MetricsServer(METRICS_RESOLUTION_MS, phases.metricsScrapeMs)
  const asHpaPod = (pod: PodView): HpaPod => ({
    name: pod.name,
    phase: pod.phase === 'pending' ? 'pending' : 'running',
    ready: pod.phase === 'ready',
    startedAt: pod.startedAt,
    readyTransitionAt: pod.readyAt ?? pod.startedAt,
    metric: metrics.metric(pod.name),
    requestCores,
  })
  return hpaLoop(
    `hpa-${Math.round(target * 100)}`,
    bounds,
    phases,
    (state) => cpuReplicas(state.pods.map(asHpaPod), target, state.specReplicas, state.now),
    (state) => metrics.observe(state.now, state.pods),
  )
}

/**
 * KEDA's Prometheus trigger with metricType AverageValue: the HPA KEDA creates reads the query's value (as
 * Prometheus last scraped it) on its sync and asks for ceil(value / threshold) pods. k8s/overlays/keda sets no
 * behaviour, so that HPA takes the legacy normalisation.
 */
function kedaController(
  name: string,
  gauge: (state: ClusterState) => number,
  threshold: number,
  bounds: ControllerBounds,
  phases: ControllerPhases,
): ScalingController {
  let scraped: number | undefined
  return hpaLoop(
    name,
    bounds,
    phases,
    (state) =>
      scraped === undefined ? undefined : externalAverageValueReplicas(scraped, threshold, state.pods.length),
    (state) => {
      if (isDue(state.now, PROMETHEUS_SCRAPE_MS, phases.prometheusScrapeMs)) scraped = gauge(state)
    },
    false,
  )
}

/** k8s/overlays/keda: the shipped ScaledObject, on gateway_desired_replicas with threshold 1 (other thresholds for sweeps). */
export function kedaDesiredController(
  bounds: ControllerBounds,
  phases: ControllerPhases,
  threshold = 1,
): ScalingController {
  const name = threshold === 1 ? 'keda' : `keda-${threshold}`
  return kedaController(name, (s) => s.gauges.desiredReplicas, threshold, bounds, phases)
}

/** KEDA on the queue: requests queued or in flight, `perReplica` per pod. */
export function kedaQueueController(
  perReplica: number,
  bounds: ControllerBounds,
  phases: ControllerPhases,
): ScalingController {
  const name = perReplica === 2 ? 'keda-queue' : `keda-queue-${perReplica}`
  return kedaController(name, (s) => s.gauges.inSystem, perReplica, bounds, phases)
}

/** A fixed count: the capacity-planning baseline. */
export function fixedController(replicas: number): ScalingController {
  return { name: `fixed-${replicas}`, initialReplicas: replicas, tick: () => undefined }
}

/**
 * Switchyard's own policy: the gateway computes gateway_desired_replicas and its actuator sets the scale at once
 * (the gateway's kubernetes actuator patches on every change).
 */
export function customController(bounds: ControllerBounds): ScalingController {
  return {
    name: 'custom',
    initialReplicas: bounds.minReplicas,
    tick: (state) =>
      Math.min(bounds.maxReplicas, Math.max(bounds.minReplicas, Math.round(state.gauges.desiredReplicas))),
    // The gateway's gateway_desired_standbys (0 unless its STANDBY is on).
    standbys: (state) => Math.max(0, Math.round(state.gauges.desiredStandbys ?? 0)),
  }
}
