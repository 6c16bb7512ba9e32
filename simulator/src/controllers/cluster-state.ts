/**
 * What a scaling controller sees of a cluster, the same in the simulator and in a real run: the Deployment's
 * spec.replicas, its pods with their phase, each pod's cumulative CPU (what the kubelet reads from the pod's
 * cgroup) and the gateway's gauges. Controllers are plain objects ticked once a second; each keeps its own
 * period and phase (HPA sync, metrics-server scrape, Prometheus scrape) inside.
 */
export type PodPhase = 'pending' | 'booting' | 'ready'

export interface PodView {
  name: string
  phase: PodPhase
  /** When its container started (after scheduling and image pull), ms; undefined while pending. */
  startedAt?: number
  /** When it became ready, ms. */
  readyAt?: number
  /** CPU seconds it has used since it started (cpuacct.usage of its cgroup). */
  cpuSeconds: number
}

/** The gateway's Prometheus gauges, as they are right now (a controller models its own scrape delay). */
export interface GatewayGauges {
  /** gateway_desired_replicas: the custom policy's signal. */
  desiredReplicas: number
  /** gateway_desired_standbys: warm standbys the custom policy wants beside them (0 or undefined: none). */
  desiredStandbys?: number
  /** gateway_queue_size plus requests in flight to replicas: what KEDA-on-queue scales on. */
  inSystem: number
}

export interface ClusterState {
  /** ms since the run began. */
  now: number
  /** The Deployment's spec.replicas: what was last asked for. */
  specReplicas: number
  /** Pods that exist and are not terminating. */
  pods: readonly PodView[]
  gauges: GatewayGauges
}

export interface ScalingController {
  readonly name: string
  readonly initialReplicas: number
  /** Once a second; returns the new spec.replicas, or undefined to leave it as it is. */
  tick(state: ClusterState): number | undefined
  /**
   * Warm standbys to hold beside spec.replicas (booted, at a small CPU request, not routed to, promoted by an
   * in-place resize), after `tick`. Absent: none (what Kubernetes' own autoscalers can do).
   */
  standbys?(state: ClusterState): number
}

/** A period with a phase: fires at phase, phase + period, … (ms). */
export function isDue(now: number, periodMs: number, phaseMs: number): boolean {
  return now >= phaseMs && (now - phaseMs) % periodMs < 1000
}
