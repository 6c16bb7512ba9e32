/**
 * The Kubernetes HorizontalPodAutoscaler's arithmetic, as pure functions, after pkg/controller/podautoscaler
 * (replica_calculator.go and horizontal.go, autoscaling/v2): how pods are grouped (ready, unready, missing a
 * metric, ignored), the CPU replica calculation with its tolerance and its conservative re-run, the external
 * AverageValue calculation KEDA's metrics use, and the behaviour (stabilisation windows, rate policies, bounds).
 */

export interface HpaPod {
  name: string
  phase: 'pending' | 'running'
  ready: boolean
  /** Container start time, ms. */
  startedAt?: number
  /** Last transition of the Ready condition, ms. */
  readyTransitionAt?: number
  /** metrics-server's CPU usage for the pod: cores, stamped with the end of the window it was measured over. */
  metric?: { cores: number; timestamp: number; windowMs: number }
  /** The pod's CPU request, cores. */
  requestCores: number
}

/** kube-controller-manager's defaults. */
export const CPU_INITIALIZATION_PERIOD_MS = 300_000
export const INITIAL_READINESS_DELAY_MS = 30_000
export const TOLERANCE = 0.1

export interface PodGroups {
  /** Pods whose metric counts, with the metric. */
  ready: HpaPod[]
  unready: HpaPod[]
  missing: HpaPod[]
}

/** groupPods for a CPU metric: pending pods and pods still initialising count as unready; no metric, missing. */
export function groupPods(pods: readonly HpaPod[], now: number): PodGroups {
  const groups: PodGroups = { ready: [], unready: [], missing: [] }
  for (const pod of pods) {
    if (pod.phase === 'pending') {
      groups.unready.push(pod)
      continue
    }
    if (!pod.metric) {
      groups.missing.push(pod)
      continue
    }
    let unready: boolean
    if (pod.startedAt === undefined || pod.readyTransitionAt === undefined) unready = true
    else if (pod.startedAt + CPU_INITIALIZATION_PERIOD_MS > now) {
      // Still possibly initialising: ignore the sample if the pod is unready, or if a whole metric window has not
      // passed since it became ready (start-up CPU would inflate it).
      unready = !pod.ready || pod.metric.timestamp < pod.readyTransitionAt + pod.metric.windowMs
    } else {
      // Ignore the metric of a pod that is unready and has never been ready.
      unready = !pod.ready && pod.startedAt + INITIAL_READINESS_DELAY_MS > pod.readyTransitionAt
    }
    ;(unready ? groups.unready : groups.ready).push(pod)
  }
  return groups
}

interface Usage {
  cores: number
  requestCores: number
}

/** GetResourceUtilizationRatio: utilisation as a whole percent of the requests (milli-cores), over the target's. */
const ratio = (usages: readonly Usage[], target: number) => {
  const used = usages.reduce((sum, u) => sum + Math.round(u.cores * 1000), 0)
  const requested = usages.reduce((sum, u) => sum + Math.round(u.requestCores * 1000), 0)
  return Math.trunc((used * 100) / requested) / Math.round(target * 100)
}

/**
 * GetResourceReplicas for CPU utilisation against the request: undefined when no pod has a usable metric (the HPA
 * then leaves the scale alone). `current` is the scale's spec.replicas.
 */
export function cpuReplicas(
  pods: readonly HpaPod[],
  targetUtilization: number,
  current: number,
  now: number,
  tolerance = TOLERANCE,
): number | undefined {
  const { ready, unready, missing } = groupPods(pods, now)
  if (ready.length === 0) return undefined
  const usages: Usage[] = ready.map((p) => ({ cores: p.metric!.cores, requestCores: p.requestCores }))
  const usageRatio = ratio(usages, targetUtilization)
  const scaleUpWithUnready = unready.length > 0 && usageRatio > 1
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1 - usageRatio) <= tolerance) return current
    return Math.ceil(usageRatio * ready.length)
  }
  // Re-run conservatively: on a scale-down, pods without a metric use their whole request (or the target, when
  // above 100 %); on a scale-up, they and the unready pods use nothing.
  const fallback = usageRatio < 1 ? Math.max(1, targetUtilization) : 0
  if (usageRatio !== 1)
    for (const p of missing) usages.push({ cores: p.requestCores * fallback, requestCores: p.requestCores })
  if (scaleUpWithUnready) for (const p of unready) usages.push({ cores: 0, requestCores: p.requestCores })
  const newRatio = ratio(usages, targetUtilization)
  if (Math.abs(1 - newRatio) <= tolerance || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1))
    return current
  const replicas = Math.ceil(newRatio * usages.length)
  if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return current
  return replicas
}

/**
 * GetExternalPerPodMetricReplicas (a KEDA trigger with metricType AverageValue): ceil(value / target), unless the
 * value per current pod is within the tolerance of the target. `statusReplicas` counts the pods that exist.
 */
export function externalAverageValueReplicas(
  value: number,
  targetPerPod: number,
  statusReplicas: number,
  tolerance = TOLERANCE,
): number {
  // With no pods the ratio is infinite: always ceil(value / target).
  const usageRatio = statusReplicas === 0 ? Number.POSITIVE_INFINITY : value / (targetPerPod * statusReplicas)
  if (Math.abs(1 - usageRatio) <= tolerance) return statusReplicas
  return Math.ceil(value / targetPerPod)
}

export interface ScalingPolicy {
  type: 'Pods' | 'Percent'
  value: number
  periodMs: number
}

export interface ScalingRules {
  stabilizationWindowMs: number
  selectPolicy: 'Max' | 'Min'
  policies: ScalingPolicy[]
}

export interface Behaviour {
  minReplicas: number
  maxReplicas: number
  scaleUp: ScalingRules
  scaleDown: ScalingRules
}

/** The default behaviour of autoscaling/v2. */
export function defaultBehaviour(minReplicas: number, maxReplicas: number): Behaviour {
  return {
    minReplicas,
    maxReplicas,
    scaleUp: {
      stabilizationWindowMs: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Percent', value: 100, periodMs: 15_000 },
        { type: 'Pods', value: 4, periodMs: 15_000 },
      ],
    },
    scaleDown: {
      stabilizationWindowMs: 300_000,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }],
    },
  }
}

/** What the behaviour remembers between syncs: past recommendations and scale events. */
export interface BehaviourMemory {
  recommendations: { at: number; replicas: number }[]
  events: { at: number; change: number }[]
}

export const emptyMemory = (): BehaviourMemory => ({ recommendations: [], events: [] })

const changeWithin = (events: BehaviourMemory['events'], now: number, periodMs: number, sign: 1 | -1) =>
  events
    .filter((e) => e.at > now - periodMs && Math.sign(e.change) === sign)
    .reduce((s, e) => s + Math.abs(e.change), 0)

function rateLimit(rules: ScalingRules, current: number, memory: BehaviourMemory, now: number, up: boolean): number {
  let result = (rules.selectPolicy === 'Max') === up ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
  for (const policy of rules.policies) {
    const start =
      current -
      changeWithin(memory.events, now, policy.periodMs, 1) +
      changeWithin(memory.events, now, policy.periodMs, -1)
    const proposed = up
      ? policy.type === 'Pods'
        ? start + policy.value
        : Math.ceil(start * (1 + policy.value / 100))
      : policy.type === 'Pods'
        ? start - policy.value
        : Math.floor(start * (1 - policy.value / 100))
    // Max picks the largest change: the highest limit going up, the lowest going down.
    result = (rules.selectPolicy === 'Max') === up ? Math.max(result, proposed) : Math.min(result, proposed)
  }
  return result
}

/**
 * normalizeDesiredReplicasWithBehaviors: stabilise the recommendation within the windows (the lowest of the
 * scale-up window, the highest of the scale-down window), then limit the change by the rate policies and the
 * bounds. Returns the new count and the memory to keep; records the scale event when the count changes.
 */
export function applyBehaviour(
  recommended: number,
  current: number,
  behaviour: Behaviour,
  memory: BehaviourMemory,
  now: number,
): { replicas: number; memory: BehaviourMemory } {
  const upCutoff = now - behaviour.scaleUp.stabilizationWindowMs
  const downCutoff = now - behaviour.scaleDown.stabilizationWindowMs
  let upRecommendation = recommended
  let downRecommendation = recommended
  for (const r of memory.recommendations) {
    if (r.at > upCutoff) upRecommendation = Math.min(upRecommendation, r.replicas)
    if (r.at > downCutoff) downRecommendation = Math.max(downRecommendation, r.replicas)
  }
  let desired = Math.min(Math.max(current, upRecommendation), downRecommendation)
  if (desired > current) {
    const limit = Math.max(current, rateLimit(behaviour.scaleUp, current, memory, now, true))
    desired = Math.min(desired, Math.min(behaviour.maxReplicas, limit))
  } else if (desired < current) {
    const limit = Math.min(current, rateLimit(behaviour.scaleDown, current, memory, now, false))
    desired = Math.max(desired, Math.max(behaviour.minReplicas, limit))
  }
  desired = Math.min(behaviour.maxReplicas, Math.max(behaviour.minReplicas, desired))
  const keepFrom = now - Math.max(behaviour.scaleUp.stabilizationWindowMs, behaviour.scaleDown.stabilizationWindowMs)
  const longestPeriod = Math.max(
    ...[...behaviour.scaleUp.policies, ...behaviour.scaleDown.policies].map((p) => p.periodMs),
  )
  return {
    replicas: desired,
    memory: {
      recommendations: [...memory.recommendations.filter((r) => r.at > keepFrom), { at: now, replicas: recommended }],
      events: [
        ...memory.events.filter((e) => e.at > now - longestPeriod),
        ...(desired !== current ? [{ at: now, change: desired - current }] : []),
      ],
    },
  }
}

/**
 * normalizeDesiredReplicas, the path an HPA without spec.behavior takes (what KEDA creates from a ScaledObject
 * without advanced.horizontalPodAutoscalerConfig): the highest recommendation of the last 300 s (above the current
 * count too), a scale-up of at most max(2 × current, 4), then the bounds.
 */
export function applyLegacyNormalization(
  recommended: number,
  current: number,
  bounds: { minReplicas: number; maxReplicas: number },
  memory: BehaviourMemory,
  now: number,
  downscaleStabilisationMs = 300_000,
): { replicas: number; memory: BehaviourMemory } {
  const kept = memory.recommendations.filter((r) => r.at >= now - downscaleStabilisationMs)
  const stabilised = Math.max(recommended, ...kept.map((r) => r.replicas))
  const upLimit = Math.max(2 * current, 4)
  const replicas = Math.max(bounds.minReplicas, Math.min(stabilised, upLimit, bounds.maxReplicas))
  return { replicas, memory: { recommendations: [...kept, { at: now, replicas: recommended }], events: [] } }
}
